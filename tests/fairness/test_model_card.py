"""Issue 6, point 7: the model card — Mitchell et al. (2019)'s nine sections, filled from the run
(data, metrics overall and by group, intended use from params, caveats), written under
reports/ and logged to MLflow."""

from __future__ import annotations

import datetime as dt
import json
import re

import mlflow
import numpy as np

from gdlab.config import validate_params
from gdlab.reporting.fairness import classification_fairness, disabled
from gdlab.reporting.model_card import SECTIONS, CardInputs, model_card, run_summary
from tests.reliability.harness import assert_succeeded, make_project

NINE = [
    "Model Details",
    "Intended Use",
    "Factors",
    "Metrics",
    "Evaluation Data",
    "Training Data",
    "Quantitative Analyses",
    "Ethical Considerations",
    "Caveats and Recommendations",
]


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## \d\. (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_card_has_the_nine_sections_filled_from_the_run(baseline):
    text = (baseline.root / "reports/model_card.md").read_text()
    assert list(SECTIONS) == NINE
    assert re.findall(r"^## (\d)\. (.+)$", text, flags=re.M) == [
        (str(i), name) for i, name in enumerate(NINE, 1)
    ]
    card = sections(text)
    handle = json.loads((baseline.root / "models/run.json").read_text())
    metrics = json.loads((baseline.root / "reports/metrics.json").read_text())
    meta = json.loads((baseline.root / "data/prepared/meta.json").read_text())
    fairness = json.loads((baseline.root / "reports/fairness.json").read_text())
    params = baseline.base

    assert handle["run_id"] in card["Model Details"]
    assert "adam, learning rate 0.01" in card["Model Details"]
    assert params["model_card"]["intended_use"].split(":")[0] in card["Intended Use"]
    assert (
        "`group`" in card["Factors"] and f"`0` ({fairness['group_sizes']['0']}" in card["Factors"]
    )
    assert "equalized_odds_difference ≤ 0.2" in card["Metrics"]
    assert f"{meta['n_test']} rows" in card["Evaluation Data"]
    assert f"{meta['n_train']} training rows" in card["Training Data"]
    quantitative = card["Quantitative Analyses"]
    assert f"| accuracy | {metrics['test']['accuracy']:.4g} |" in quantitative
    assert f"| selection_rate | {fairness['overall']['selection_rate']:.4g} |" in quantitative
    assert "| demographic_parity_difference |" in quantitative
    assert "**Fairness gate:** passed." in quantitative
    assert "proxies" in card["Ethical Considerations"]
    assert "Synthetic data" in card["Caveats and Recommendations"]

    with baseline.inside():
        mlflow.set_tracking_uri(baseline.store)
        logged = mlflow.artifacts.load_text(f"runs:/{handle['run_id']}/model_card.md")
    assert logged == text


def make_inputs(fairness, pii=None, **card):
    params = validate_params({"model_card": card, "data": {"pii": pii or {}}})
    metrics = {"test": {"accuracy": 0.9}, "cv": {"accuracy": {"mean": 0.88, "std": 0.01}}}
    meta = {
        "source": "csv",
        "path": "d.csv",
        "n_train": 80,
        "n_test": 20,
        "target": "y",
        "feature_names": ["a", "b"],
        "classes": [0, 1],
    }
    return CardInputs(params, meta, metrics, fairness, {"run_id": "r1"}, "fig.png")


def test_card_takes_intended_use_and_caveats_from_params_and_flags_small_groups():
    rng = np.random.default_rng(0)
    group = np.array(["big"] * 95 + ["tiny"] * 5)
    y = rng.integers(0, 2, 100)
    fairness = classification_fairness(
        y,
        y,
        group,
        classes=[0, 1],
        thresholds={"equalized_odds_difference": 0.0},
        sensitive_name="region",
    )
    fairness.violations = ["equalized_odds_difference 0.3 > 0"]  # pretend the gate failed
    text = model_card(
        make_inputs(
            fairness, intended_use="Ranking tickets.", caveats="Retrain monthly.", owner="team-x"
        )
    )
    card = sections(text)
    assert "**Owner:** team-x" in card["Model Details"]
    assert "Ranking tickets." in card["Intended Use"]
    caveats = card["Caveats and Recommendations"]
    assert "Group(s) `tiny` have fewer than 30 test rows" in caveats
    assert "must not be promoted to champion" in caveats
    assert "Retrain monthly." in caveats
    assert "FAILED" in card["Quantitative Analyses"]


def test_card_without_a_sensitive_attribute_says_fairness_was_not_evaluated():
    card = sections(model_card(make_inputs(disabled("classification", "no sensitive column"))))
    assert "was **not** evaluated" in card["Factors"]
    assert "Fairness was not assessed" in card["Ethical Considerations"]
    assert "By group" not in card["Quantitative Analyses"]


def test_card_describes_the_tuned_training_and_dates_it_by_the_run(tmp_path):
    # a tune stage's result: train trains with it, and the card must say so (not params.yaml)
    project = make_project(tmp_path / "p")
    tuned = {"params": {"optimizer.name": "nesterov", "optimizer.learning_rate": 0.0123}}
    (tmp_path / "p/reports/tuning").mkdir(parents=True)
    (tmp_path / "p/reports/tuning/best_params.json").write_text(json.dumps(tuned))
    assert_succeeded(project.repro("evaluate"))
    card = sections((tmp_path / "p/reports/model_card.md").read_text())["Model Details"]
    assert "nesterov, learning rate 0.0123" in card
    handle = json.loads((tmp_path / "p/models/run.json").read_text())
    run = project.client().get_run(handle["run_id"])
    assert run.data.params["optimizer.name"] == "nesterov"  # what train really used
    started = run_summary(run, experiment="gdlab", model_uri=None)["date"]
    start = dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC)
    assert started == start.date().isoformat()
    assert f"**Date:** {started} (training run started)" in card


def test_card_names_the_columns_kept_as_not_personal_data():
    # data.pii.keep columns look like personal data and were let through on the user's word:
    # the card says so beside the dropped and pseudonymised ones
    fairness = disabled("classification", "no sensitive column")
    details = sections(model_card(make_inputs(fairness, {"keep": ["sku", "ticket"]})))
    assert ("**Kept as they are, declared not personal data** (they look like e-mail "
            "addresses or phone numbers): `sku`, `ticket`.") in details["Training Data"]
    plain = sections(model_card(make_inputs(fairness)))["Training Data"]
    assert "Kept as they are" not in plain


def test_card_calls_data_drop_columns_left_out_not_personal_data():
    """A date and a note left out with data.drop are named as columns left out; only
    data.pii.drop columns are reported as dropped personal data."""
    fairness = disabled("classification", "no sensitive column")
    params = validate_params({"data": {"drop": ["signup_date", "note"],
                                       "pii": {"drop": ["email"]}}})
    inputs = make_inputs(fairness)
    inputs.params = params
    training = sections(model_card(inputs))["Training Data"]
    assert "- **Columns left out** (data.drop, not read): `signup_date`, `note`." in training
    assert "dropped on load: `email`;" in training
    personal = next(line for line in training.splitlines() if "Personal data" in line)
    assert "signup_date" not in personal and "note" not in personal


def test_card_gives_each_test_metric_its_interval_and_warns_of_a_tiny_test_split():
    fairness = disabled("classification", "no sensitive column")
    inputs = make_inputs(fairness)
    inputs.metrics = {**inputs.metrics, "test": {"accuracy": 1.0},
                      "test_ci95": {"accuracy": {"low": 0.51, "high": 1.0}},
                      "test_warning": "the test split has only 4 rows (data.test_size=0.2)"}
    card = sections(model_card(inputs))
    assert "| accuracy | 1 | 0.51 – 1 | 0.88 | 0.01 |" in card["Quantitative Analyses"]
    assert ("- Too small a test split: the test split has only 4 rows (data.test_size=0.2)."
            in card["Caveats and Recommendations"])


def test_card_says_how_many_rows_were_copies_kept_on_one_side():
    """The card said the test rows were never used for training while copies of training rows
    sat among them; copies are now kept on one side and the card says how many there were."""
    fairness = disabled("classification", "no sensitive column")
    inputs = make_inputs(fairness)
    inputs.meta = {**inputs.meta, "copied_rows": 200}
    evaluation = sections(model_card(inputs))["Evaluation Data"]
    assert ("The data held 200 rows that are exact copies of another row (features and "
            "target): each row and its copies were kept on one side of the split (and of every "
            "CV fold), so no test row is a copy of a training row.") in evaluation
    plain = sections(model_card(make_inputs(fairness)))["Evaluation Data"]
    assert "cop" not in plain


def test_card_lists_the_groups_not_evaluated_and_does_not_claim_every_group_was():
    """The card said every metric was reported for each group of the sensitive column while a
    group of the training rows had no test row; now it names that group (with its training
    rows) in the factors, the by-group table's heading and the caveats."""
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    group = np.array(["female"] * 4 + ["male"] * 4)
    fairness = classification_fairness(
        y, y, group, classes=[0, 1], thresholds={"equalized_odds_difference": 0.2},
        sensitive_name="gender", not_evaluated={"intersex": 1},
    )
    card = sections(model_card(make_inputs(fairness)))
    factors = card["Factors"]
    assert "for each group of `gender` as well as overall" not in factors
    assert "for each group of `gender` with test rows as well as overall" in factors
    assert "**Groups not evaluated:** `intersex` (1 training row)" in factors
    assert "not evaluated, no test rows: `intersex` (1 training row)" in (
        card["Quantitative Analyses"])
    assert "FAILED — equalized_odds_difference is undefined" in card["Quantitative Analyses"]
    caveats = card["Caveats and Recommendations"]
    assert "Group(s) `intersex` (1 training row) of `gender` have no test rows" in caveats
    # every group present: the card reads as before
    complete = sections(model_card(make_inputs(classification_fairness(
        y, y, group, classes=[0, 1], sensitive_name="gender"))))
    assert ("every metric below is reported for each group of `gender` as well as overall."
            in complete["Factors"])
    assert "not evaluated" not in complete["Factors"] + complete["Caveats and Recommendations"]


def test_card_says_register_chooses_the_champion_on_the_test_split():
    """The card said the test split was never used for model selection while register picks
    the champion on its metric."""
    text = sections(model_card(make_inputs(disabled("classification", "none"))))
    evaluation = text["Evaluation Data"]
    assert "model selection" not in evaluation
    assert "never used for training or tuning; register chooses the champion on it" in evaluation


def test_card_names_the_huber_threshold_the_mlp_layers_and_the_optimisers_params():
    # "loss huber" alone could not tell epsilon 0.3 from 1.0, nor an mlp's layers or the
    # optimiser's momentum: the card named neither, so it could not say which model it was
    params = validate_params({
        "model": {"task": "regression", "loss": "huber", "epsilon": 0.3, "kind": "mlp",
                  "hidden_layer_sizes": [16, 8], "activation": "tanh"},
        "optimizer": {"name": "sgd", "params": {"momentum": 0.9}},
    })
    inputs = make_inputs(disabled("regression", "no sensitive column"))
    inputs = CardInputs(params, inputs.meta, {"test": {"rmse": 1.0}, "cv": {}}, inputs.fairness,
                        inputs.run, inputs.figure)
    details = sections(model_card(inputs))["Model Details"]
    assert "(mlp [16, 8] tanh model, loss huber (epsilon 0.3), regression)" in details
    assert "**Training algorithm:** sgd {'momentum': 0.9}, learning rate" in details
    linear = sections(model_card(make_inputs(disabled("classification", "none"))))
    assert "(linear model, loss log_loss, classification)" in linear["Model Details"]


def test_card_names_a_plugin_models_params(plugin):
    # a plug-in model (model.kind "module:factory") was named without its model.params, the
    # keyword arguments that build it
    from tests.broken_plugins import MODELS

    sized = "\n\ndef sized(width=1):\n    return Linear()\n"  # a factory taking params
    kind = f"{plugin(MODELS + sized)}:sized"
    params = validate_params({"model": {"kind": kind, "params": {"width": 3}}})
    inputs = make_inputs(disabled("classification", "none"))
    inputs = CardInputs(params, inputs.meta, inputs.metrics, inputs.fairness, inputs.run,
                        inputs.figure)
    details = sections(model_card(inputs))["Model Details"]
    assert f"({kind} {{'width': 3}} model, loss log_loss, classification)" in details


def test_card_gives_every_class_its_gap_and_names_those_too_rare_to_judge():
    """Five classes: the card showed the last class's rates only and said nothing of the
    others, nor that the gate's class ('gnu', 9 rows per group) was too rare to judge."""
    from fairlearn.metrics import equalized_odds_difference

    from tests.fairness.test_fairness import ANIMALS, labelled

    common = {"cat": (180, 162, "dog"), "dog": (60, 54, "cat"), "eel": (36, 32, "cat"),
              "fox": (15, 15, "cat")}
    y, pred, group = labelled({"north": {**common, "gnu": (9, 0, "cat")},
                               "south": {**common, "gnu": (9, 3, "cat")}})
    fairness = classification_fairness(y, pred, group, classes=ANIMALS, sensitive_name="region",
                                       thresholds={"equalized_odds_difference": 0.2})
    card = sections(model_card(make_inputs(fairness)))
    quantitative = card["Quantitative Analyses"]
    for label in ANIMALS:
        gap = equalized_odds_difference(y == label, pred == label, sensitive_features=group)
        judged = "yes" if label in ("cat", "dog", "eel") else "no (too few rows)"
        rows = min(np.sum((y == label) & (group == g)) for g in ("north", "south"))
        assert f"| `{label}` | {gap:.4g} |" in quantitative
        assert quantitative.split(f"| `{label}` |")[1].split("\n")[0].endswith(
            f"| {rows} | {judged} |")
    worst = fairness.worst_class["equalized_odds_difference"]
    assert f"| equalized_odds_difference (class `{worst}`) |" in quantitative
    assert "every class against the rest" in card["Metrics"]
    assert ("Class(es) `fox`, `gnu` have fewer than 30 test rows"
            in card["Caveats and Recommendations"])


def test_card_says_every_class_was_judged_on_few_rows_when_none_has_enough():
    """No class has 30 test rows per group: the gate judged every class and failed on 'c', but
    the card's by-class table said "no (too few rows)" for each and its caveat that "the
    fairness gate does not judge them"."""
    from tests.fairness.test_fairness import _few_rows_of_every_class

    y, pred, group = _few_rows_of_every_class()
    fairness = classification_fairness(y, pred, group, classes=["a", "b", "c"],
                                       sensitive_name="region", min_group_size=30,
                                       thresholds={"equalized_odds_difference": 0.2})
    assert not fairness.passed
    card = sections(model_card(make_inputs(fairness)))
    quantitative, caveats = card["Quantitative Analyses"], card["Caveats and Recommendations"]
    assert "no (too few rows)" not in quantitative
    for label in "abc":
        assert quantitative.split(f"| `{label}` |")[1].split("\n")[0].endswith(
            "| 20 | yes, on few rows (may be noise) |")
    assert "no class has, so the gate judges every class on few rows" in quantitative
    assert "does not judge them" not in caveats
    assert "judges every class on them anyway" in caveats
