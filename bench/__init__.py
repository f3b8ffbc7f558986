"""gdlab's benchmark suite: ``python -m bench`` (``make bench``); see docs/benchmarks.md."""
