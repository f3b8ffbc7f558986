"""The atomic counter that threads of a compiled parallel region claim work from."""

import numpy as np
from numba import get_num_threads, njit, prange

from gdlab.core.fast.atomic import fetch_add


@njit(parallel=True)
def _claim_all(counter, claimed, parts, per_part):
    for _part in prange(parts):
        for _ in range(per_part):
            claimed[fetch_add(counter, 1, 1)] += 1


def test_every_claim_gets_a_distinct_number_across_threads():
    parts, per_part = 4 * max(2, get_num_threads()), 5000
    counter = np.array([7, 0, 7], dtype=np.int64)
    claimed = np.zeros(parts * per_part, dtype=np.int64)
    _claim_all(counter, claimed, parts, per_part)
    assert counter.tolist() == [7, parts * per_part, 7]  # only the named slot moves
    assert (claimed == 1).all()  # no number handed out twice, none skipped


def test_fetch_add_returns_the_previous_value():
    @njit
    def add(counter, value):
        return fetch_add(counter, 0, value)

    counter = np.array([40], dtype=np.int64)
    assert add(counter, 2) == 40 and add(counter, -5) == 42 and counter[0] == 37
