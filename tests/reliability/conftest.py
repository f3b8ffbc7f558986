"""Fixtures of the reliability tests: the shared baseline project and the check that a test
left it untouched (both defined in tests/reliability/harness.py)."""

from tests.reliability.harness import baseline, untouched  # noqa: F401 - pytest fixtures
