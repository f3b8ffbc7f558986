"""What the train run holds for whoever reads MLflow, run in this process on a CSV: the kind of
run (``gdlab.run_kind``: one filter finds the training run, not its folds), the reports of its
model as artifacts (train's ``cv.json`` and ``trained.json``, evaluate's ``metrics.json``, byte
for byte DVC's), and DVC's md5 of the prepared data from ``dvc.lock``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from mlflow.tracking import MlflowClient

from gdlab.tracking.dvc_lock import directory_md5
from tests.pipeline.conftest import stage


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2))
    return pd.DataFrame(x.round(3), columns=["a", "b"]).assign(
        label=np.where(x[:, 0] - x[:, 1] > 0, "yes", "no"))


def test_the_train_run_is_one_filter_away_with_its_reports_and_dvc_md5(tmp_path, csv_train):
    csv_train(_rows(), "label", "records")
    assert stage("evaluate").main([]) == 0
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = [client.get_experiment_by_name("records").experiment_id]
    (model,) = client.search_runs(experiment, "tags.gdlab.run_kind = 'model'")
    assert "mlflow.parentRunId" not in model.data.tags and model.data.tags["gdlab.stage"] == (
        "train")
    folds = client.search_runs(experiment, "tags.gdlab.run_kind = 'fold'")
    assert len(folds) == 2 and {r.data.tags["mlflow.parentRunId"] for r in folds} == {
        model.info.run_id}
    assert len(client.search_runs(experiment, "tags.gdlab.stage = 'train'")) == 3  # why

    # the reports of its model, as DVC has them (train's two in one call, evaluate's)
    run_id = model.info.run_id
    for name in ("cv.json", "trained.json", "metrics.json"):
        logged = client.download_artifacts(run_id, name, str(tmp_path / f"got-{name}"))
        assert open(logged, "rb").read() == (tmp_path / "reports" / name).read_bytes(), name
    # no dvc.lock here: no DVC md5 claimed
    assert "gdlab.data_dvc_md5" not in model.data.tags

    # dvc.lock records data/prepared as it is (as `dvc repro` leaves it): train tags its md5
    md5 = directory_md5(tmp_path / "data" / "prepared")
    lock = {"schema": "2.0", "stages": {"prepare": {"cmd": "python pipeline/prepare.py", "outs": [
        {"path": "data/prepared", "hash": "md5", "md5": md5, "nfiles": len(
            [p for p in (tmp_path / "data" / "prepared").rglob("*") if p.is_file()])}]}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert stage("train").main(["--models", "models", "--reports", "reports"]) == 0
    runs = client.search_runs(experiment, "tags.gdlab.run_kind = 'model'",
                              order_by=["attributes.start_time DESC"])
    assert len(runs) == 2 and runs[0].data.tags["gdlab.data_dvc_md5"] == md5
    folds = client.search_runs(
        experiment, f"tags.mlflow.parentRunId = '{runs[0].info.run_id}'")
    assert {r.data.tags.get("gdlab.data_dvc_md5") for r in folds} == {md5}
