"""End-to-end tests of the DVC pipeline."""
