"""Tests for gdlab.reporting."""
