"""Two variants of a comparison compared fold by fold: the paired gap of their final losses.

Every variant of a comparison is cross-validated on the *same* folds, so fold k of one variant
and fold k of another trained on the same rows. A fold with harder rows raises every
variant's loss alike; comparing the variants' means against their spreads over the folds
counts that shared fold-to-fold spread against the difference between them. The paired gap
takes it out: on each fold, the other variant's final training loss minus the best's.

The rule (:attr:`PairedGap.beaten`): the best is ahead of the other when it is lower on
*every* fold of the comparison and the mean of the paired gaps exceeds their standard
deviation over the folds (ddof 0, like ``final_loss_std``). The first condition is a sign
test (with 5 folds, a difference of no consistent sign is ahead on every fold by chance one
time in 32); the second keeps a gap that is ahead everywhere but carried by one fold from
counting as a steady one; and the mean gap must also exceed ``margin``, the smallest lead
that counts (the comparison passes ``train.tol``: a loss lower by less than that is, by the
stopping rule's own measure, no improvement). A fold where either variant has no final
loss shows nothing, so it does not count as ahead: the other is then never beaten. It is a
rule of thumb on few numbers, not a test at a stated level: with 2 folds it reduces to
"lower on both".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedGap:
    """The other variant's final loss minus the best's, fold by fold, summarised."""

    mean: float | None
    """Mean over the folds both have a final loss on; None when they share none."""
    std: float | None
    """Standard deviation (ddof 0) over those folds; None when they share none."""
    behind: int
    """Folds on which the other variant's final loss is above the best's."""
    folds: int
    """Folds of the comparison: those either variant has."""
    margin: float = 0.0
    """The smallest mean gap that counts as a lead."""

    @property
    def beaten(self) -> bool:
        """The best is lower on every fold and the mean gap exceeds both the gaps' spread and
        the margin."""
        return (self.folds > 0 and self.behind == self.folds
                and self.mean is not None and self.std is not None
                and self.mean > max(self.std, self.margin))


def paired_gap(best: Mapping[int, float], other: Mapping[int, float],
               folds: int | None = None, margin: float = 0.0) -> PairedGap:
    """``other - best`` on every fold both have a final loss for (``{fold: final loss}``);
    ``folds`` is how many folds the comparison has (default: the folds either names);
    ``margin``: the smallest mean gap that counts as a lead."""
    shared = sorted(set(best) & set(other))
    total = len(set(best) | set(other)) if folds is None else folds
    if not shared:
        return PairedGap(None, None, 0, total, margin)
    gaps = np.array([other[k] - best[k] for k in shared], dtype=float)
    return PairedGap(float(gaps.mean()), float(gaps.std()), int((gaps > 0).sum()), total,
                     margin)
