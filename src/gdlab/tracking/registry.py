"""Model registry gate: register a version, alias it ``challenger``, and move ``champion`` to
it only when it beats the current champion on the configured test metric."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gdlab.experiment.metrics import GREATER_IS_BETTER, POSITIVE_CLASS_METRICS, is_better
from gdlab.experiment.paired_bootstrap import PairedGain, paired_gain
from gdlab.tracking.champion import (
    CHALLENGER_REMEDY,
    MIN_COMPARED_ROWS,
    ChampionScores,
    NotCompared,
    PairedPredictions,
    TestSet,
    champion_remedy,
    champion_scores,
    input_columns,
    input_difference,
    promote_by_hand,
    same_rows_predictions,
)
from gdlab.tracking.decision_lock import decision_lock
from gdlab.tracking.evaluation_run import EVALUATION_RUN_TAG
from gdlab.tracking.hand_moves import (
    no_champion,
    not_promoted_again,
    note_hand_move,
    remember_champion,
    rolled_back,
)
from gdlab.tracking.lineage import GIT_COMMIT_TAG, LINEAGE_TAGS, same_code

CHAMPION = "champion"
CHALLENGER = "challenger"
TASK_TAG = "gdlab.task"
POSITIVE_TAG = "gdlab.positive_label"
"""The positive class (``repr``) the version's f1 and average_precision are of, when it has
one (two classes): a recorded value of another class is not compared with this one."""
MODEL_DIGEST_TAG = "gdlab.model_sha256"
"""sha256 of the version's registered skops file, the logged model's in the MLflow store
(register checks it is byte for byte ``models/model.skops``,
:func:`gdlab.tracking.logged_model.check_logged_model`; the same training writes the same
bytes)."""
REVIEW_TAG = "gdlab.fairness_review"


@dataclass
class RegistryDecision:
    """What ``register_and_gate`` did; written to ``reports/registry.json``."""

    model_name: str
    version: str
    model_uri: str
    run_id: str | None
    metric: str
    greater_is_better: bool
    value: float
    previous_champion: str | None
    previous_value: float | None
    promoted: bool
    reason: str
    champion: str | None
    champion_evaluation: str | None = None
    """Where ``previous_value`` comes from: ``recorded`` (the champion's own test metric: the
    same prepared data, or no test set given), :data:`UNSEEN_ROWS` (both models scored on the
    test rows neither trained on), :data:`ALL_ROWS` (a champion whose training rows are
    unknown, scored on every test row), or not compared: ``not compared: inputs differ``,
    ``not compared: classes differ``, :data:`TOO_FEW_ROWS`; None without a champion to
    compare with."""
    compared_value: float | None = None
    """The new version's value in the comparison: ``value`` (its recorded test metric) unless
    both were scored on the test rows neither trained on; None when not compared."""
    test_rows: int | None = None
    """Rows of the test set the champion was scored on (None: recorded metrics compared)."""
    compared_rows: int | None = None
    """Of them, the rows the two were compared on (or would have been: too few)."""
    champion_training_rows: int | None = None
    """Of them, the rows the champion was trained on (None: unknown or not asked)."""
    min_confidence: float | None = None
    """The confidence the new version had to be better with (``register.min_confidence``;
    None: any improvement promoted)."""
    paired_test: dict[str, Any] | None = None
    """The paired bootstrap of the two on the rows they were compared on
    (:class:`~gdlab.experiment.paired_bootstrap.PairedGain`: gain, its 95% interval,
    confidence, rows, resamples, seed); None when none was run."""

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def fairness_gate(document: dict[str, Any]) -> tuple[str, str | None]:
    """``(status, reason)`` of evaluate's ``reports/fairness.json``: the status as the train
    run's ``gdlab.fairness_gate`` tag spells it (``not measured`` | ``not configured`` |
    ``passed`` | ``failed``) and, when failed, the reason the model may not be champion."""
    if not document.get("enabled"):
        return "not measured", None
    gate = document["gate"]
    if not gate["thresholds"]:
        return "not configured", None
    return ("passed", None) if gate["passed"] else ("failed", gate["reason"])


def metric_tag(metric: str) -> str:
    return f"test_{metric}"


def run_lineage(client: MlflowClient, run_id: str) -> dict[str, str]:
    """The lineage tags (:data:`LINEAGE_TAGS`: git commit, prepared-data digest, ...) of the
    train run ``run_id``, for the model version registered from it."""
    tags = client.get_run(run_id).data.tags
    return {key: tags[key] for key in LINEAGE_TAGS if tags.get(key)}


def version_description(run_id: str, lineage: dict[str, str], card: str) -> str:
    """The model version's description: where it comes from and where its model card is."""
    commit = lineage.get(GIT_COMMIT_TAG, "unknown (not a git repository)") + _changes(lineage)
    return (
        f"Trained by gdlab's train run {run_id} (git commit {commit}; prepared data sha256 "
        f"{lineage.get('gdlab.data_digest', 'unknown')}). Model card: {card}"
    )


UNSEEN_ROWS = "re-evaluated on the test rows neither trained on"
ALL_ROWS = "re-evaluated on this test set"
TOO_FEW_ROWS = "not compared: too few test rows neither trained on"
TOO_SMALL_TEST = "not compared: too few test rows"

DECIDED_TAGS = ("gdlab.fairness_gate", "gdlab.baseline_gate")
"""Version tags a registration decides (not lineage): refreshed when the same model is
registered again, so they agree with its ``gdlab.promotion_reason`` (a tightened gate)."""
COMPARED_TAG = "gdlab.compared_with"
"""On the new version: the champion it was compared with and how (``v3, re-evaluated on the
test rows neither trained on``); with ``gdlab.champion_test_<metric>``, that champion's value
in the comparison, ``gdlab.compared_test_<metric>``, this version's, and
:data:`COMPARED_ROWS_TAG`. Set (or removed) by every decision, so they agree with its
``gdlab.promotion_reason``."""
COMPARED_ROWS_TAG = "gdlab.compared_rows"
"""On the new version: how many test rows the champion comparison used (``22``)."""


def champion_metric_tag(metric: str) -> str:
    return f"gdlab.champion_test_{metric}"


def compared_metric_tag(metric: str) -> str:
    return f"gdlab.compared_test_{metric}"


def registered_model_description(task: str | None, metric: str) -> str:
    """The registered model's description, set when register creates the name: what its
    versions are and what the aliases mean."""
    kind = f"{task} models" if task else "models"
    return (
        f"gdlab {kind}: each version is the refit of a train run of the gdlab pipeline "
        f"(a scikit-learn pipeline, also saved as models/model.skops), registered by its "
        f"register stage. Alias {CHAMPION!r}: the version register promoted (the best test "
        f"{metric}, better than the one before it beyond the noise of the test rows when "
        "register.min_confidence is set, that passed the fairness gate and, with "
        "register.beat_baseline, beat a constant prediction's test score) or the one a person "
        "moved it to by hand "
        "(register then never promotes the version it was moved away from again: its tag "
        f"gdlab.rolled_back); {CHALLENGER!r}: the model of register's latest run, the version "
        "it registered or, for the same model file trained again from the same code and "
        "prepared data, the earlier version it reused (that run tagged gdlab.duplicate_of "
        "the version's run). register records "
        "its own decisions in each version's tag gdlab.promotion_reason and in the project's "
        "reports/registry.json, which a move by hand does not change. A version's description "
        "names its train run, git commit, prepared data and model card."
    )


def _describe_registered_model(client: MlflowClient, name: str, description: str) -> None:
    """Give registered model ``name`` (``mlflow.register_model`` created it, or it existed)
    ``description`` unless it has one (perhaps edited in the UI: left as it is). Creating the
    name beforehand made MLflow print "Registered model ... already exists. Creating a new
    version" on the very first registration."""
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=description)


def _changes(lineage: dict[str, str]) -> str:
    """What differed from the commit when the model was trained, for the description: the
    code (``gdlab.code_dirty``) or only params.yaml (``gdlab.params_dirty``). Not
    ``gdlab.git_dirty``: every run rewrites dvc.lock and reports, so once git tracks them it
    is true after nearly every run and tells nothing about the model."""
    if lineage.get("gdlab.code_dirty") == "true":
        return " with uncommitted code changes"
    if lineage.get("gdlab.params_dirty") == "true":
        return " with params.yaml changed since, code as committed"
    return ""


def evaluated_run_id(version: Any) -> str | None:
    """The run holding ``version``'s test and fairness metrics: the evaluation run its
    :data:`~gdlab.tracking.evaluation_run.EVALUATION_RUN_TAG` names when evaluate logged to one
    (train's run then has none, or an earlier evaluation's), else the train run it came from."""
    return (version.tags or {}).get(EVALUATION_RUN_TAG) or version.run_id or None


def evaluated_metrics(client: MlflowClient, version: Any) -> dict[str, float]:
    """The metrics of :func:`evaluated_run_id`'s run; empty when there is none or it was
    deleted for good (nothing measured). Any other failure (a locked store) is raised."""
    run_id = evaluated_run_id(version)
    if not run_id:
        return {}
    try:
        return dict(client.get_run(run_id).data.metrics)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise


def _champion_value(client: MlflowClient, version: Any, metric: str) -> float | None:
    tagged = (version.tags or {}).get(metric_tag(metric))
    if tagged is not None:
        return float(tagged)
    run_metrics = evaluated_metrics(client, version)
    if metric_tag(metric) in run_metrics:
        return float(run_metrics[metric_tag(metric)])
    return None


_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
"""Error codes of MLflow for "no such registered model" and "no such alias"."""


def current_champion(client: MlflowClient, name: str) -> Any | None:
    """The version holding the ``champion`` alias, or None when the name or the alias does not
    exist. Any other failure (a locked or unreachable store) is raised: taken for "no
    champion", it would hand the alias to whatever version is registered next."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in _ABSENT:
            return None
        raise


def filter_literal(value: str) -> str:
    """``value`` as a string literal in an MLflow search filter. The filter has no escape: a
    value holding a single quote (``Bob's model``) goes in double quotes, else the search
    fails and a rerun would take the name for a new one (the config refuses a model name
    holding both kinds of quote)."""
    return f'"{value}"' if "'" in value else f"'{value}'"


def _registered_version(
    client: MlflowClient, name: str, model_uri: str, run_id: str | None
) -> Any | None:
    """The version of ``name`` already registered from ``model_uri`` (a rerun of register on
    the same model), or None."""
    if run_id is None:
        return None
    try:
        found = client.search_model_versions(
            f"name = {filter_literal(name)} and run_id = '{run_id}'"
        )
    except MlflowException:  # no registered model of that name yet
        return None
    same = [v for v in found if v.source == model_uri]
    return min(same, key=lambda v: int(v.version)) if same else None


def _identical_version(
    client: MlflowClient, name: str, tags: dict[str, str]
) -> Any | None:
    """The earliest version of ``name`` with the same model file (``MODEL_DIGEST_TAG``), built
    by the same code (:func:`same_code`: the committed code's digest, or the git commit for a
    version tagged before gdlab kept it; with no uncommitted change to its Python files,
    dvc.yaml or pyproject.toml: ``gdlab.code_dirty`` false) from the same prepared data: the
    very model, registered again only because train ran again (back to earlier params after
    experiments, perhaps after committing dvc.lock and reports), or None. Without a commit,
    with changed code or without a data digest nothing is reused: the code behind the same
    bytes could differ."""
    digest, commit = tags.get(MODEL_DIGEST_TAG), tags.get(GIT_COMMIT_TAG)
    data = tags.get("gdlab.data_digest")
    if not (digest and commit and data) or tags.get("gdlab.code_dirty") != "false":
        return None
    try:
        found = client.search_model_versions(
            f"name = {filter_literal(name)} and tags.`{MODEL_DIGEST_TAG}` = '{digest}'"
        )
    except MlflowException:  # no registered model of that name yet
        return None
    same = [
        v for v in found
        if same_code(v.tags or {}, tags)
        and (v.tags or {}).get("gdlab.code_dirty") == "false"
        and (v.tags or {}).get("gdlab.data_digest") == data
    ]
    return min(same, key=lambda v: int(v.version)) if same else None


@dataclass(frozen=True)
class _Comparison:
    """The champion beside the new version: its value for the gate (None: nothing to
    compare), where that value comes from, why the two cannot be compared (None: they can;
    a clause after "not compared with champion vN, ": other inputs, test classes it never
    predicts, a plug-in params.yaml no longer names, too few test rows neither trained on),
    the champion's own recorded test metric, the new version's value when it was scored
    again (None: its recorded one stands) and the test rows the two were scored on (None:
    recorded metrics)."""

    value: float | None
    source: str
    differs: str | None
    recorded: float | None
    challenger: float | None = None
    rows: ChampionScores | None = None
    paired: PairedGain | None = None


def _compare_with_champion(
    client: MlflowClient,
    name: str,
    champion: Any,
    model_uri: str,
    metric: str,
    test_set: TestSet | None,
    seed: int | None = None,
) -> _Comparison:
    """Compare ``champion`` with the model at ``model_uri`` before anything is written: their
    signatures' inputs, then both models' ``metric`` on the rows of ``test_set`` neither
    trained on (the champion's own recorded one when it was tested on the same prepared data,
    ``gdlab.data_digest``, or when no test set is given; a champion whose training rows are
    unknown, on every test row). With a ``seed`` (and a test set), both models also predict
    those rows (every test row for the same prepared data) for the paired bootstrap of their
    difference seeded with it (:func:`_paired_test`). Raises ``ChampionNotComparable`` when a
    model cannot be read or scored."""
    recorded = _champion_value(client, champion, metric)
    if test_set is not None and len(test_set.y) < MIN_COMPARED_ROWS:
        return _Comparison(None, TOO_SMALL_TEST, _too_small(len(test_set.y)), recorded)
    differs = input_difference(
        input_columns(f"models:/{name}/{champion.version}", champion_remedy(name)),
        input_columns(model_uri, CHALLENGER_REMEDY),
    )
    if differs is not None:
        return _Comparison(None, "not compared: inputs differ",
                           f"whose inputs differ: {differs}", recorded)
    digest = (champion.tags or {}).get("gdlab.data_digest")
    # a recorded f1 of another class (another metrics.positive_label, or a champion registered
    # when f1 was always of the last class in sorted order) is scored again, not compared
    same_class = (test_set is None or metric not in POSITIVE_CLASS_METRICS
                  or (champion.tags or {}).get(POSITIVE_TAG) == positive_tag(test_set.positive))
    same_data = test_set is None or (digest is not None and digest == test_set.digest
                                     and same_class)
    paired = seed is not None and test_set is not None
    try:
        if same_data and (recorded is not None or test_set is None):
            if not paired:
                return _Comparison(recorded, "recorded", None, recorded)
            both = same_rows_predictions(name, str(champion.version), model_uri, test_set)
            return _Comparison(recorded, "recorded", None, recorded,
                               paired=_paired_test(both, test_set, metric, seed))
        scores = champion_scores(name, str(champion.version), model_uri, test_set, metric,
                                 paired=paired)
    except NotCompared as exc:
        return _Comparison(None, f"not compared: {exc.kind}", str(exc), recorded)
    test = None if scores.paired is None else _paired_test(scores.paired, test_set, metric,
                                                           seed)
    if scores.unknown is not None:
        return _Comparison(scores.champion, ALL_ROWS, None, recorded, rows=scores, paired=test)
    if not scores.enough:
        return _Comparison(None, TOO_FEW_ROWS, _too_few(scores), recorded, rows=scores)
    return _Comparison(scores.champion, UNSEEN_ROWS, None, recorded, scores.challenger, scores,
                       test)


def positive_tag(positive: Any) -> str | None:
    """:data:`POSITIVE_TAG`'s value for the positive class ``positive`` (None: none)."""
    if positive is None:
        return None
    return repr(positive.item() if isinstance(positive, np.generic) else positive)


def _paired_test(both: PairedPredictions, test_set: TestSet, metric: str,
                 seed: int) -> PairedGain:
    """The paired bootstrap of the new model's gain over the champion on the rows both
    predicted (:func:`gdlab.experiment.paired_bootstrap.paired_gain`, seeded with ``seed``;
    f1 and average_precision of ``test_set.positive``)."""
    return paired_gain(both.y, both.champion, both.challenger, test_set.task, metric,
                       seed=seed, champion_classes=both.champion_classes,
                       challenger_classes=both.challenger_classes, positive=test_set.positive)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _trained_on(rows: ChampionScores) -> str:
    """How many test rows were training rows: ``78 were champion training rows, 2 this
    model's``."""
    k = rows.champion_trained or 0
    text = ("none was a champion training row" if k == 0 else
            f"{k} {'was a champion training row' if k == 1 else 'were champion training rows'}")
    if rows.challenger_trained:
        text += f", {rows.challenger_trained} this model's"
    return text


def _too_few(rows: ChampionScores) -> str:
    """The clause of a comparison refused for want of test rows neither model trained on."""
    ours = f" (and this model's {rows.challenger_trained})" if rows.challenger_trained else ""
    return (f"whose training rows hold {rows.champion_trained} of the {rows.test_rows} test "
            f"rows{ours}: {_plural(rows.compared_rows, 'is', 'are')} in neither model's "
            f"training data, fewer than the {MIN_COMPARED_ROWS} a comparison needs")


def _too_small(test_rows: int) -> str:
    """The clause of a comparison refused because the test set itself is too small."""
    return (f"as this model was tested on only {_plural(test_rows, 'row', 'rows')}, fewer "
            f"than the {MIN_COMPARED_ROWS} a comparison needs (its test metric is mostly "
            "noise: use more rows or raise data.test_size)")


def _compared(metric: str, value: float, comparison: _Comparison, champion: str,
              verb: str) -> str:
    """The reason of a decision on the metrics (``verb``: ``beats``, ``does not beat``, ...):
    the recorded values as before; champion and new model scored again on the test rows
    neither trained on say how many of how many; a champion whose training rows are unknown
    says so, with what it had recorded on its own test data."""
    previous, rows = comparison.value, comparison.rows
    ours = value if comparison.challenger is None else comparison.challenger
    if comparison.source == "recorded":
        return f"test_{metric} {value:.6g} {verb} {previous:.6g}"
    if comparison.source == UNSEEN_ROWS:
        everything = ("" if rows.compared_rows == rows.test_rows
                      else f"; on all {rows.test_rows} this model has {value:.6g}")
        return (f"test_{metric} {ours:.6g} {verb} champion v{champion}'s {previous:.6g} on "
                f"the {rows.compared_rows} test rows neither trained on (of {rows.test_rows}; "
                f"{_trained_on(rows)}{everything})")
    own = ("" if comparison.recorded is None
           else f"; it recorded {comparison.recorded:.6g} on its own test data")
    unknown = "" if rows is None else (
        f"; its training rows are unknown ({rows.unknown}) and may include these test rows")
    return (f"test_{metric} {value:.6g} {verb} champion v{champion}'s {previous:.6g} on the "
            f"same test rows (re-evaluated{own}{unknown})")


def _beyond_noise(test: PairedGain, min_confidence: float, better: bool) -> str:
    """The clause a paired test adds to the reason: the gain, its interval, the confidence
    against ``min_confidence`` and, for a challenger ahead by less than the noise of the test
    rows, that this is why it stays challenger."""
    how = (f"paired bootstrap, {test.resamples} resamples of the "
           f"{_plural(test.rows, 'test row', 'test rows')} both were scored on")
    if math.isnan(test.confidence):
        return (f"; better by {test.gain:.3g}, with a confidence that cannot be measured "
                f"(test_{test.metric} is undefined on most resamples; {how}): not promoted")
    passed = test.confidence >= min_confidence
    clause = (f"; better by {test.gain:.3g} [95% CI {test.low:.3g}, {test.high:.3g}], with "
              f"confidence {test.confidence:.3g} {'>=' if passed else '<'} "
              f"register.min_confidence {min_confidence:g} ({how})")
    if better and not passed:
        clause += ": within the noise of the test rows, not promoted"
    return clause


def _record_comparison(
    client: MlflowClient, name: str, version: Any, metric: str,
    champion: Any | None, comparison: _Comparison | None,
) -> None:
    """Tag the new version with the champion it was compared with and that champion's value
    (:data:`COMPARED_TAG`); remove tags an earlier decision left when there is none now."""
    wanted: dict[str, str] = {}
    if comparison is not None:
        wanted[COMPARED_TAG] = f"v{champion.version}, {comparison.source}"
        if comparison.value is not None:
            wanted[champion_metric_tag(metric)] = repr(float(comparison.value))
        if comparison.challenger is not None:
            wanted[compared_metric_tag(metric)] = repr(float(comparison.challenger))
        if comparison.rows is not None and comparison.value is not None:
            wanted[COMPARED_ROWS_TAG] = str(comparison.rows.compared_rows)
    held = version.tags or {}
    for key in (COMPARED_TAG, champion_metric_tag(metric), compared_metric_tag(metric),
                COMPARED_ROWS_TAG):
        if key in wanted:
            client.set_model_version_tag(name, version.version, key, wanted[key])
        elif key in held:
            client.delete_model_version_tag(name, version.version, key)


def register_and_gate(
    client: MlflowClient,
    *,
    model_name: str,
    model_uri: str,
    run_id: str | None,
    metric: str,
    value: float,
    tags: dict[str, str] | None = None,
    blocked: str | None = None,
    task: str | None = None,
    description: str | None = None,
    test_set: TestSet | None = None,
    verify_reused: Callable[[str, str], Any] | None = None,
    min_confidence: float | None = None,
    seed: int = 0,
) -> RegistryDecision:
    """Register ``model_uri`` under ``model_name``, tag the version with its test ``metric``,
    set ``challenger`` on it and decide whether it becomes ``champion``. ``blocked`` (e.g. a
    failed fairness or baseline gate) keeps it from becoming champion whatever its score, as
    the reason.

    The champion and the new model are compared on the same rows: a champion whose signature
    takes other inputs (names or types) is not compared, and the new version stays
    ``challenger`` (the reason names the columns and how to promote it by hand); one tested on
    other prepared data (``gdlab.data_digest``) is scored, with the new model, on the rows of
    ``test_set`` (those ``value`` was measured on) that neither was trained on (their
    fingerprints; too few such rows: not compared; a champion without one: every row, said in
    the reason). A ``test_set`` of fewer than :data:`MIN_COMPARED_ROWS` rows is not compared
    with the champion at all: the new version stays ``challenger``, the reason naming the
    count and how to promote it by hand. Without ``test_set`` the recorded metrics are
    compared (the caller vouches they were measured on the same rows). A champion that
    cannot be read or scored raises ``ChampionNotComparable`` (a ValueError) before anything
    is registered or moved.

    A model registered under ``model_name`` before (register run again on the same train run)
    keeps its version: its tags (and ``description``) are updated and the decision is made
    again; the decision's reason is tagged ``gdlab.promotion_reason`` on it. So does the same
    model file (``tags[MODEL_DIGEST_TAG]``) trained again from the same clean commit and data
    (:func:`_identical_version`): only its test metric tag is refreshed. With ``task``
    (tagged ``gdlab.task``), a name whose champion is of another task is refused (ValueError,
    nothing registered): their scores cannot be compared. ``verify_reused(model_name,
    version)`` checks such an earlier version's own file in the store before anything is
    written (it raises, e.g. :class:`~gdlab.tracking.logged_model.LoggedModelDiffers`, to
    refuse): the aliases would otherwise move to a file nobody read.

    With ``min_confidence`` (``register.min_confidence``, above 0), a better test metric is not
    enough: the champion and the new model predict the rows they are compared on (every test
    row of the same prepared data; else the rows neither trained on), and the new version is
    promoted only when a paired bootstrap over those rows, seeded with ``seed``
    (:func:`gdlab.experiment.paired_bootstrap.paired_gain`), is at least that confident that
    it is better; the reason gives the gain, its 95% interval and the confidence. It needs
    ``test_set`` (ValueError otherwise). None or 0: any improvement is promoted.

    The champion is read and the aliases moved under :func:`decision_lock`, so two register
    stages at once (``dvc queue start -j 2``) decide one after the other: the second compares
    with the first's outcome, not with the champion both would have read."""
    paired = bool(min_confidence)
    if paired and test_set is None:
        raise ValueError("register.min_confidence needs the test set: the paired test scores "
                         "the champion and the new model on its rows")
    with decision_lock(str(client.tracking_uri), model_name):
        champion = current_champion(client, model_name)
        held = None if champion is None else (champion.tags or {}).get(TASK_TAG)
        if task is not None and held is not None and held != task:
            raise ValueError(
                f"register.model_name: {model_name!r} holds {held} models (champion "
                f"v{champion.version}); register this {task} model under another name"
            )
        left = note_hand_move(client, model_name, champion)  # a rollback by hand sticks
        version_tags = {metric_tag(metric): repr(float(value)), **(tags or {})}
        if task is not None:
            version_tags[TASK_TAG] = task
        if test_set is not None and test_set.positive is not None:
            version_tags[POSITIVE_TAG] = positive_tag(test_set.positive)
        version = _registered_version(client, model_name, model_uri, run_id)
        identical = None if version is not None else _identical_version(
            client, model_name, version_tags
        )
        known = version if version is not None else identical
        if identical is not None and verify_reused is not None:  # before anything is written
            verify_reused(model_name, str(identical.version))
        comparison = None
        if champion is not None and (known is None or str(known.version) != str(champion.version)):
            comparison = _compare_with_champion(  # may refuse: nothing is written before it
                client, model_name, champion, model_uri, metric, test_set,
                seed if paired else None,
            )
        if identical is not None:  # the same model again: no new version; its lineage stays its
            version = identical    # own, what this registration measured and decided is refreshed
            for key in (metric_tag(metric), *DECIDED_TAGS):
                if key in version_tags:
                    client.set_model_version_tag(
                        model_name, version.version, key, version_tags[key]
                    )
        elif version is None:
            version = mlflow.register_model(model_uri, model_name, tags=version_tags)
            if champion is None:  # perhaps a new name: it gets a description unless it has one
                _describe_registered_model(
                    client, model_name, registered_model_description(task, metric)
                )
        else:
            for key, tag in version_tags.items():
                client.set_model_version_tag(model_name, version.version, key, tag)
        client.set_registered_model_alias(model_name, CHALLENGER, version.version)
        previous_value = None if comparison is None else comparison.value
        if champion is None:
            promoted, reason = True, no_champion(client, model_name, str(version.version), left)
            if test_set is not None and len(test_set.y) < MIN_COMPARED_ROWS:
                reason += (f" (tested on only {_plural(len(test_set.y), 'row', 'rows')}: too "
                           "few to rank it against a later version)")
        elif comparison is None:
            promoted, reason = True, "already champion"
            if identical is not None:
                reason = f"already champion: v{version.version} is this very model"
            previous_value = _champion_value(client, champion, metric)
        elif comparison.differs is not None:
            promoted, reason = False, (
                f"not compared with champion v{champion.version}, {comparison.differs}; "
                f"{promote_by_hand(model_name, str(version.version))}"
            )
        elif previous_value is None:
            promoted, reason = True, f"champion v{champion.version} has no test_{metric}"
        else:
            ours = value if comparison.challenger is None else comparison.challenger
            promoted = better = is_better(ours, previous_value, metric)
            test = comparison.paired
            if test is not None:  # beyond the noise of the shared test rows
                promoted = better and test.confidence >= min_confidence  # NaN: not
            verb = ("beats" if promoted else "does not clearly beat" if better
                    else "does not beat")
            reason = _compared(metric, value, comparison, str(champion.version), verb)
            if test is not None:
                reason += _beyond_noise(test, min_confidence, better)
        if blocked:
            promoted, reason = False, blocked
        mark = rolled_back(client, model_name, str(version.version)) if promoted else None
        if mark is not None and (champion is None or str(champion.version) != str(version.version)):
            promoted, reason = False, not_promoted_again(
                model_name, str(version.version), mark, reason
            )
        client.set_model_version_tag(model_name, version.version, "gdlab.promotion_reason", reason)
        _record_comparison(client, model_name, version, metric, champion, comparison)
        if description is not None and identical is None:
            client.update_model_version(model_name, version.version, description=description)
        if promoted:
            client.set_registered_model_alias(model_name, CHAMPION, version.version)
        remember_champion(client, model_name, str(version.version) if promoted else (
            None if champion is None else str(champion.version)))
        return RegistryDecision(
            model_name=model_name,
            version=str(version.version),
            model_uri=model_uri,
            run_id=run_id,
            metric=metric,
            greater_is_better=GREATER_IS_BETTER[metric],
            value=float(value),
            previous_champion=None if champion is None else str(champion.version),
            previous_value=previous_value,
            promoted=promoted,
            reason=reason,
            champion=str(version.version) if promoted else (champion and str(champion.version)),
            **_comparison_fields(value, comparison),
            min_confidence=min_confidence if paired else None,
        )


def _comparison_fields(value: float, comparison: _Comparison | None) -> dict[str, Any]:
    """The decision's fields saying how the champion was compared (None: it was not)."""
    if comparison is None:
        return {}
    rows = comparison.rows
    compared = comparison.challenger
    if compared is None and comparison.value is not None:
        compared = value
    return {
        "champion_evaluation": comparison.source,
        "compared_value": compared,
        "test_rows": None if rows is None else rows.test_rows,
        "compared_rows": None if rows is None else rows.compared_rows,
        "champion_training_rows": None if rows is None else rows.champion_trained,
        "paired_test": None if comparison.paired is None else comparison.paired.to_dict(),
    }


def review_champion(
    client: MlflowClient, decision: RegistryDecision, thresholds: Mapping[str, float]
) -> str | None:
    """The champion ``decision`` kept, checked against today's fairness gate (``thresholds``,
    ``{"equalized_odds_difference": 0.1, ...}``): a version promoted under a looser gate, or
    none, may fail it. Reads the ``fairness_<difference>`` metrics evaluate logged on the
    champion's evaluation run, or its train run when it has none (:func:`evaluated_run_id`;
    a gate is undefined when ``fairness_groups_not_evaluated`` says a group of the training
    rows had no test row). A failure is returned and tagged :data:`REVIEW_TAG`
    on that version (the tag goes once it passes). The alias stays where it is: moved or
    removed, it would leave whoever serves ``models:/<name>@champion`` without a model."""
    if decision.promoted or decision.champion is None or not thresholds:
        return None
    version = client.get_model_version(decision.model_name, decision.champion)
    metrics = evaluated_metrics(client, version)  # its run deleted for good: none measured
    failed = []
    # gdlab.reporting.fairness.NOT_EVALUATED_METRIC: training groups without a test row
    missing = int(metrics.get("fairness_groups_not_evaluated", 0))
    for name, limit in thresholds.items():
        value = metrics.get(f"fairness_{name}")
        if missing:
            failed.append(f"{name} undefined ({missing} group{'s' if missing > 1 else ''} of "
                          "the training rows had no test rows)")
        elif value is None or not math.isfinite(value):
            failed.append(f"{name} not measured")
        elif value > limit:
            failed.append(f"{name} {value:.4g} > {limit:.4g}")
    if not failed:
        if REVIEW_TAG in (version.tags or {}):
            client.delete_model_version_tag(decision.model_name, decision.champion, REVIEW_TAG)
        return None
    review = (f"champion v{decision.champion} fails today's fairness gate too: "
              + "; ".join(failed) + "; it keeps the alias until a version passes")
    client.set_model_version_tag(decision.model_name, decision.champion, REVIEW_TAG, review)
    return review
