"""Tests for gdlab.experiment."""
