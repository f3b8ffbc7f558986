"""Failures of a fold that must survive the trip back from a joblib worker process.

The engine's :class:`~gdlab.core.loop.DivergenceError` takes three constructor arguments, so
pickle cannot rebuild it from its message and loky reports a confusing "A result has failed to
un-serialize" instead. Fold workers re-raise it as :class:`FoldDivergence`: still a
``DivergenceError`` (same attributes, same message, prefixed by the fold), but picklable.
"""

from __future__ import annotations

from gdlab.core.loop import DivergenceError


class FoldDivergence(DivergenceError):
    """Training of one cross-validation fold diverged (``fold`` e.g. ``"fold 2/5"``)."""

    def __init__(self, fold: str, epoch: int, learning_rate: float, loss: float):
        super().__init__(epoch, learning_rate, loss)
        self.fold = fold
        self.args = (f"{fold}: {self.args[0]}",)

    def __reduce__(self):
        return (type(self), (self.fold, self.epoch, self.learning_rate, self.loss))
