"""Tests for gdlab.tracking."""
