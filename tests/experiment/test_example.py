"""The logged model's input example: one-hot groups hold exactly one level per row."""

import numpy as np

from gdlab.experiment import input_example
from gdlab.experiment.example import one_hot_groups


def _one_hot(levels: list[str], codes: list[int]) -> np.ndarray:
    return np.eye(len(levels))[codes]


def test_each_example_row_sets_one_level_of_a_one_hot_group_the_kth_most_frequent():
    # city: Paris 5 rows, Lyon 3, Nice 2 (Paris and Lyon above 25 %): quartiles taken column by
    # column gave rows with no city at all (every level 0) and with Paris and Lyon at once
    codes = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(codes))
    city = _one_hot(["Paris", "Lyon", "Nice"], [codes[i] for i in order])
    X = np.column_stack([np.arange(10.0), city, (np.arange(10) % 2).astype(float)])
    names = ["age", "city=Paris", "city=Lyon", "city=Nice", "smoker=yes"]
    example = input_example(X, names)
    cities = example[["city=Paris", "city=Lyon", "city=Nice"]].to_numpy()
    np.testing.assert_array_equal(cities, np.eye(3))  # Paris, then Lyon, then Nice
    # the other columns keep their quartiles (a lone dummy column included)
    for j in (0, 4):
        np.testing.assert_array_equal(example[names[j]], np.nanquantile(
            X[:, j], (0.25, 0.5, 0.75), method="nearest"))


def test_a_group_of_two_levels_cycles_and_columns_that_are_not_one_hot_are_left_alone():
    X = np.column_stack([_one_hot(["a", "b"], [1, 1, 1, 0]),   # b is the more frequent
                         [0.0, 2.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0],  # "k=" values not 0/1
                         [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])  # two 1s in a row
    names = ["g=a", "g=b", "k=1", "k=2", "t=1", "t=2"]
    assert one_hot_groups(X, names) == [[0, 1]]
    example = input_example(X, names)
    np.testing.assert_array_equal(example[["g=a", "g=b"]].to_numpy(),
                                  [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(example["k=1"], np.nanquantile(
        X[:, 2], (0.25, 0.5, 0.75), method="nearest"))
