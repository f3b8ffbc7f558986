"""The per-epoch row order: a uniform permutation, reproducible from the run's generator."""

import itertools
import math

import numpy as np
import pytest

from gdlab.core.sampling import epoch_order


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 100_003])
def test_is_a_permutation_of_the_rows(n):
    order = epoch_order(np.random.default_rng(0), n)
    assert order.dtype == np.int64
    np.testing.assert_array_equal(np.sort(order), np.arange(n))


def test_same_generator_state_gives_the_same_order_and_one_draw_per_epoch():
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    out = np.empty(500, dtype=np.int64)
    first = epoch_order(a, 500, out=out).copy()
    assert epoch_order(b, 500).tolist() == first.tolist()
    second = epoch_order(a, 500, out=out)
    assert second is out and second.tolist() != first.tolist()
    # exactly one number drawn per epoch: the generators are in step again
    b.integers(0, 2**63 - 1)
    assert a.integers(0, 1 << 30) == b.integers(0, 1 << 30)


def test_every_permutation_is_equally_likely():
    """Chi-square over the 24 orders of 4 rows: a biased shuffle (e.g. modulo mapping or
    'swap with any position') fails it; the 0.1% critical value for 23 d.o.f. is 49.7."""
    rng = np.random.default_rng(2024)
    draws = 48_000
    counts = dict.fromkeys(itertools.permutations(range(4)), 0)
    out = np.empty(4, dtype=np.int64)
    for _ in range(draws):
        counts[tuple(epoch_order(rng, 4, out=out))] += 1
    expected = draws / math.factorial(4)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 49.7, chi2


def test_positions_are_uniform_on_a_large_order():
    """Where row 0 lands over many epochs of 1 000 rows: uniform over the 10 deciles."""
    rng = np.random.default_rng(3)
    out = np.empty(1000, dtype=np.int64)
    landing = np.array([np.flatnonzero(epoch_order(rng, 1000, out=out) == 0)[0]
                        for _ in range(5000)])
    counts = np.bincount(landing // 100, minlength=10)
    chi2 = float(((counts - 500.0) ** 2 / 500.0).sum())
    assert chi2 < 27.9, counts  # 0.1% critical value for 9 d.o.f.
