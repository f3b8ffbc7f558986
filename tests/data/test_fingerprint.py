"""A row's hash depends on its values and target only (not on its position, the columns'
order, -0.0 or a NaN's bits), is the same in every process and pandas version (pinned), and a
fingerprint is read back without pickle."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gdlab.data.fingerprint import (
    CHUNK_CELLS,
    fingerprint,
    load_fingerprint,
    row_hashes,
    save_fingerprint,
    seen,
)


def _table(n=500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["d", "a", "c", "b"])
    return X, rng.choice(np.array(["no", "yes", "maybe"], dtype=object), size=n)


def test_the_same_rows_hash_the_same_wherever_they_are():
    """Shuffled rows, reordered columns, the array form with feature names, and hashing in
    chunks of one row at a time give each row the same hash; rows differing in one value or
    in the label do not."""
    X, y = _table()
    hashes = row_hashes(X, y)
    order = np.random.default_rng(1).permutation(len(y))
    assert np.array_equal(row_hashes(X.iloc[order][["b", "c", "a", "d"]], y[order]),
                          hashes[order])
    assert np.array_equal(row_hashes(X.to_numpy(), y, list(X.columns)), hashes)
    assert len(np.unique(hashes)) == len(y)  # 500 distinct rows, 500 distinct hashes
    changed = X.copy()
    changed.iloc[0, 2] += 1e-12
    assert row_hashes(changed, y)[0] != hashes[0]
    assert row_hashes(X, np.where(y == "no", "yes", "no"))[y == "no"][0] != hashes[y == "no"][0]


def test_chunks_do_not_change_the_hashes(monkeypatch):
    X, y = _table(n=50)
    whole = row_hashes(X, y)
    monkeypatch.setattr("gdlab.data.fingerprint.CHUNK_CELLS", 3)  # one row a chunk
    assert CHUNK_CELLS > 3 and np.array_equal(row_hashes(X, y), whole)


def test_equal_floats_hash_alike_and_the_values_are_pinned():
    """-0.0 as 0.0, any NaN as NaN; the hashes of a fixed table are pinned (another process,
    numpy or pandas must give the same: a registered fingerprint is compared with today's
    hashes; a change of scheme must change SCHEME)."""
    X = pd.DataFrame({"b": [1.5, -0.0, np.nan], "a": [2.0, 3.0, -1.0]})
    other_nan = np.frombuffer(np.uint64(0x7FF8000000000123).tobytes(), dtype=np.float64)[0]
    assert np.isnan(other_nan)
    same = pd.DataFrame({"a": [2.0, 3.0, -1.0], "b": [1.5, 0.0, -other_nan]})
    labels = np.array(["no", "yes", "no"], dtype=object)
    assert np.array_equal(row_hashes(same, labels), row_hashes(X, labels))
    assert [hex(int(h)) for h in row_hashes(X, labels)] == [
        "0x15343638ea4468fb", "0x2845a236455f0e7d", "0x7a82081561a3e864"]
    assert [hex(int(h)) for h in row_hashes(X, np.array([0.5, 1.0, 2.0]))] == [
        "0xf173d17ee33eb788", "0xb51ca2629445d202", "0xfef106450dfcefa0"]
    code = ("import numpy as np, pandas as pd; from gdlab.data.fingerprint import row_hashes; "
            "X = pd.DataFrame({'b': [1.5, -0.0, np.nan], 'a': [2.0, 3.0, -1.0]}); "
            "print(row_hashes(X, np.array(['no', 'yes', 'no'], dtype=object))[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin",
                              "PYTHONPATH": ":".join(sys.path)}, check=True, timeout=120)
    assert int(out.stdout) == 0x15343638EA4468FB


def test_a_fingerprint_is_sorted_unique_and_matches_numpy_isin(tmp_path):
    X, y = _table()
    train = pd.concat([X[:300], X[:10]], ignore_index=True)  # ten rows twice
    rows = fingerprint(train, np.concatenate([y[:300], y[:10]]))
    assert len(rows) == 300
    assert rows.dtype == np.uint64 and np.all(rows[1:] > rows[:-1])
    hashes = row_hashes(X, y)
    assert np.array_equal(seen(hashes, rows), np.arange(len(y)) < 300)
    assert np.array_equal(seen(hashes, rows), np.isin(hashes, rows))
    assert not seen(hashes, rows[:0]).any()

    meta = save_fingerprint(tmp_path, rows)
    assert meta == {"file": "training_rows.npy", "hashes": 300, "scheme": "gdlab-rows-1"}
    assert np.array_equal(load_fingerprint(tmp_path / meta["file"]), rows)
    assert (tmp_path / meta["file"]).stat().st_size == 300 * 8 + 128  # 8 bytes a row


def test_a_file_that_is_no_fingerprint_is_refused_unread(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_fingerprint(tmp_path / "objects.npy")
    np.save(tmp_path / "unsorted.npy", np.array([3, 1], dtype=np.uint64))
    with pytest.raises(ValueError, match="no fingerprint of training rows"):
        load_fingerprint(tmp_path / "unsorted.npy")
