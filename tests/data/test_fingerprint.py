"""A row's hash depends on its values and target only (not on its position, the columns'
order, -0.0 or a NaN's bits), is the same in every process and pandas version (pinned), and a
fingerprint is read back without pickle."""

import hashlib
import struct
import subprocess
import sys
import tracemalloc

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


_M64 = (1 << 64) - 1


def _mix_int(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _bits_int(value) -> int:
    number = float("nan") if pd.isna(value) else float(value) + 0.0
    return int.from_bytes(struct.pack("<d", number), "little")


def _reference_hashes(frame: pd.DataFrame, y) -> list[int]:
    """The scheme written out row by row in Python integers (the module docstring's words:
    a value's float64 bits xor its column's rank in name order times the golden ratio, mixed,
    summed; the target's hash added; mixed again)."""
    names = sorted(str(c) for c in frame.columns)
    hashes = []
    for i in range(len(frame)):
        total = 0
        for rank, name in enumerate(names, start=1):
            salt = (rank * 0x9E3779B97F4A7C15) & _M64
            total += _mix_int(_bits_int(frame[name].iloc[i]) ^ salt)
        label = y[i]
        if isinstance(label, str):
            target = int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(),
                                    "little")
        else:
            target = _bits_int(label)
        hashes.append(_mix_int((total + _mix_int(target)) & _M64))
    return hashes


def _mixed_frame(n=60, seed=3):
    """Columns of every dtype a DataFrame of features may hold: float with NaN and -0.0,
    int, bool, numbers as text, numeric categories, nullable integers with <NA>."""
    rng = np.random.default_rng(seed)
    floats = rng.normal(size=n)
    floats[::7] = np.nan
    floats[3] = -0.0
    return pd.DataFrame({
        "f": floats,
        "i": rng.integers(-5, 5, size=n),
        "b": rng.random(n) < 0.5,
        "t": pd.Series([f"{v:.3f}" for v in rng.normal(size=n)], dtype=object),
        "c": pd.Categorical(rng.choice([0.5, 1.0, 2.5], size=n)),
        "n": pd.array([None if k % 5 == 0 else k for k in range(n)], dtype="Int64"),
        "a": rng.normal(size=n).astype(np.float32),
    })


@pytest.mark.parametrize("chunk", [CHUNK_CELLS, 7 * 3, 7])
def test_mixed_dtype_frames_hash_as_the_scheme_says(monkeypatch, chunk):
    """Hashes stored in MLflow runs must never change: a mixed-dtype frame (text numbers,
    category, bool, int, float32/64, NaN, <NA>) hashes as the scheme written out in Python
    integers, whatever the chunk size, with labels or numeric targets."""
    X = _mixed_frame()
    labels = np.random.default_rng(4).choice(np.array(["no", "yes"], dtype=object), len(X))
    values = np.random.default_rng(5).normal(size=len(X))
    monkeypatch.setattr("gdlab.data.fingerprint.CHUNK_CELLS", chunk)
    assert [int(h) for h in row_hashes(X, labels)] == _reference_hashes(X, labels)
    assert [int(h) for h in row_hashes(X, values)] == _reference_hashes(X, values)
    assert [int(h) for h in row_hashes(X[["t", "a", "n", "c", "b", "i", "f"]], values)] == (
        _reference_hashes(X, values))


def test_text_that_is_no_number_is_refused():
    X = pd.DataFrame({"a": [1.0, 2.0], "t": ["x", "1"]})
    with pytest.raises(ValueError, match="x"):
        row_hashes(X, np.array([0.0, 1.0]))


def test_hashing_a_frame_copies_only_a_chunk_at_a_time(monkeypatch):
    """Linear in the rows: each chunk reads only its own rows. Taking the columns in name
    order from the whole frame (``iloc[rows, order]``) copied every row for every chunk (2M
    rows x 50 columns: 25 s instead of 0.3 s); counted here in bytes, never in seconds: the
    most memory held at once stays a small part of the frame's."""
    rng = np.random.default_rng(0)
    n, width = 20_000, 50
    # x0, x1, ..., x49: in name order x0, x1, x10, x11, ...: the columns must be reordered
    X = pd.DataFrame(rng.normal(size=(n, width)), columns=[f"x{k}" for k in range(width)])
    y = rng.normal(size=n)
    expected = row_hashes(X.to_numpy(), y, list(X.columns))
    monkeypatch.setattr("gdlab.data.fingerprint.CHUNK_CELLS", 50 * 200)  # 100 chunks
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        hashes = row_hashes(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(hashes, expected)
    frame_bytes = n * width * 8
    assert peak < frame_bytes / 4, f"{peak} bytes held at once hashing a {frame_bytes}-byte frame"
