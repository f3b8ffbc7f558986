"""gdlab: a lab for prototyping gradient-descent algorithms."""

__version__ = "0.1.0"
