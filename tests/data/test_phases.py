"""The data stages' progress lines: one as each phase ends, with its time; silenced by
GDLAB_PROGRESS=off like train's and tune's."""

from __future__ import annotations

from gdlab.data.phases import Phases


def test_each_phase_says_its_own_time(fake_clock, capsys):
    phases = Phases("prepare")
    fake_clock.advance(12.0)
    phases.done("read 1000000 rows x 51 columns (data/raw/big.csv)")
    fake_clock.advance(0.5)
    phases.done("split 800000 train / 200000 test rows")
    assert capsys.readouterr().err.splitlines() == [
        "prepare: read 1000000 rows x 51 columns (data/raw/big.csv) in 12.0s",
        "prepare: split 800000 train / 200000 test rows in 0.5s",
    ]


def test_no_stage_or_gdlab_progress_off_says_nothing(fake_clock, capsys, monkeypatch):
    Phases(None).done("read 10 rows x 2 columns (synthetic)")
    monkeypatch.setenv("GDLAB_PROGRESS", "off")
    Phases("validate").done("read 10 rows x 2 columns (synthetic)")
    assert capsys.readouterr().err == ""
