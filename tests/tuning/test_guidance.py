"""Learning-rate guidance: L against the exact eigenvalue, the LR range test's suggestion
against [0.1/L, 2/L] on least squares, and the ``gdlab lr-find`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gdlab import GDRegressor
from gdlab.cli import main as gdlab
from gdlab.core.diagnostics import LRRangeResult, lr_range_test, smoothness_constant
from gdlab.tuning.guidance import lr_guidance

from .conftest import make_params, write_project


def least_squares(seed: int, n: int = 1500, d: int = 8, centred: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, size=d)
    if not centred:
        X += rng.normal(scale=2.0, size=d)  # the intercept column then matters
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) + 2.0
    return X, y


def exact_L(X: np.ndarray) -> float:
    Xt = np.column_stack([X, np.ones(len(X))])
    return float(np.linalg.eigvalsh(Xt.T @ Xt / len(X))[-1])


@pytest.mark.parametrize("seed", range(4))
def test_smoothness_estimate_matches_lambda_max_with_intercept(seed):
    X, _ = least_squares(seed, n=400 + 300 * seed, d=3 + 4 * seed)
    L = smoothness_constant(X)
    exact = exact_L(X)
    # measured relative error: 2e-14..4e-12 here, at most 2e-10 over 300 such draws
    assert L == pytest.approx(exact, rel=1e-9)
    assert L <= exact * (1 + 1e-12)  # power iteration approaches λ_max from below
    without = np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    assert abs(L - without) > 0.01 * L  # the intercept column is in


def test_guidance_measures_L_on_the_preprocessed_data():
    X, y = least_squares(11)
    params = make_params(model={"task": "regression", "alpha": 0.0}, optimizer={"name": "sgd"})
    guidance = lr_guidance(params, X, y, range_test=False)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)  # what the pipeline's StandardScaler gives
    # standardised features have close top eigenvalues (λ₂/λ_max = 0.96): power iteration
    # stops 1.1e-9 (relative) below λ_max here
    assert guidance.smoothness == pytest.approx(exact_L(Xs), rel=1e-8)
    assert guidance.smoothness <= exact_L(Xs) * (1 + 1e-12)
    assert guidance.step == pytest.approx(1 / guidance.smoothness)
    assert guidance.bound == pytest.approx(2 / guidance.smoothness)
    assert guidance.range_test is None


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("batch_size", [None, 64])
def test_range_test_suggestion_lies_within_a_tenth_of_1_over_L_and_2_over_L(seed, batch_size):
    X, y = least_squares(seed, centred=seed % 2 == 0)
    L = exact_L(X)
    result = lr_range_test(
        GDRegressor(optimizer="sgd", batch_size=batch_size, random_state=seed), X, y
    )
    assert result.diverged  # the sweep went past 2/L and stopped
    assert result.descended  # a learnable problem is not called a flat one
    assert 0.1 / L <= result.suggestion <= 2 / L, result.suggestion * L
    assert result.suggestion <= result.valley <= result.stopped_at


def test_lr_find_prints_L_and_the_suggestion(tmp_path, capsys, monkeypatch):
    params = write_project(tmp_path, model={"task": "regression"}, optimizer={"name": "sgd"})
    monkeypatch.chdir(tmp_path)
    plot = tmp_path / "lr_find.png"
    assert gdlab(["lr-find", "--params", str(params), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "smoothness L = " in out and "1/L = " in out and "2/L = " in out
    assert "LR range test (sgd, batch 32" in out and "suggestion" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert (
        gdlab(
            [
                "lr-find",
                "--json",
                "--set",
                "train.batch_size=null",
                "--set",
                "optimizer.name=sgd",
                "--data",
                str(tmp_path / "absent"),
            ]
        )
        == 0
    )
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["batch_size"] is None
    L = numbers["smoothness_L"]
    assert 0.1 / L <= numbers["range_test_suggestion"] <= 2 / L


def test_lr_find_reports_bad_overrides(tmp_path, capsys):
    params = write_project(tmp_path)
    assert gdlab(["lr-find", "--params", str(params), "--set", "optimizer.learning_rate=-1"]) == 1
    assert "optimizer.learning_rate" in capsys.readouterr().err


def test_mlp_has_no_L_but_a_range_test(classification_data):
    X, y = classification_data
    params = make_params(model={"kind": "mlp", "hidden_layer_sizes": [8]})
    guidance = lr_guidance(params, X, y, num_steps=60)
    assert guidance.smoothness is None and "range test" in guidance.smoothness_note
    assert guidance.suggestion is not None and guidance.suggestion > 0
    assert any("LR range test" in line for line in guidance.lines())


def test_lr_find_prepares_the_data_its_overrides_ask_for(tmp_path, capsys, monkeypatch):
    # the project's data/prepared holds the synthetic classification set; --set asks for the
    # bundled diabetes regression: that data is prepared, not the stale one reused
    params = write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["lr-find", "--json", "--params", str(params)]
    assert gdlab(args) == 0
    assert "preparing" not in capsys.readouterr().err  # the prepared data fits
    assert gdlab([*args, "--set", "data.source=diabetes", "--set", "model.task=regression"]) == 0
    captured = capsys.readouterr()
    assert "gdlab lr-find: preparing the data of these params" in captured.err
    numbers = json.loads(captured.out)
    assert numbers["n_features"] == 10 and numbers["loss"] == "squared_error"  # diabetes


def test_a_sweep_whose_loss_never_falls_says_its_suggestion_is_unreliable():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    noise = rng.normal(size=400)
    y_noise = noise - noise.mean()  # nothing to learn: zero weights are already optimal
    flat = lr_range_test(GDRegressor(optimizer="sgd", random_state=0), X, y_noise)
    assert not flat.descended
    early = flat.losses[: len(flat.losses) // 10].mean()  # the sweep's own data: flat
    assert np.nanmin(flat.smoothed) > 0.9 * early
    learnable = lr_range_test(GDRegressor(optimizer="sgd", random_state=0), X,
                              X @ [1.0, -2.0, 0.5, 0.0, 3.0])
    assert learnable.descended
    params = make_params(model={"task": "regression"}, optimizer={"name": "sgd"})
    report = lr_guidance(params, X, y_noise)
    assert report.as_dict()["range_test_descended"] is False
    assert any("no descent found" in line for line in report.lines())


@pytest.mark.parametrize(
    ("centre", "expected"),
    [(-3.0, "steepest"),  # the steepest descent lies far below the valley: it is the suggestion
     (-1.15, "cap")],  # the steepest descent lies close to the valley: capped at a quarter of it
)
def test_suggestion_is_the_steepest_descent_of_the_sweep_capped_at_a_quarter_of_the_valley(
    centre, expected
):
    """A sweep whose loss falls steepest (against log lr) at 10**centre, bottoms out near 0.1
    and then climbs: the suggestion is that steepest point, or a quarter of the valley when
    the steepest point is closer to the valley than that (the docstring's rule). The [0.1/L,
    2/L] test alone passed both the uncapped steepest point and the quarter valley alone."""
    rates = np.logspace(-6, 0, 201)
    u = np.log10(rates)
    # log(loss): a smooth step down of height 2 centred at `centre`, then a quadratic climb
    # past u = -1; every point of it computed here, nothing from the sweep's own smoothing
    log_loss = -np.tanh((u - centre) / 0.3) + 4.0 * np.maximum(u + 1.0, 0.0) ** 2
    valley = rates[np.argmin(log_loss)]
    slope = np.gradient(log_loss, u)
    steepest = rates[np.argmin(np.where(rates <= valley, slope, np.inf))]
    assert steepest == pytest.approx(10.0**centre, rel=0.05)
    result = lr_range_test_from_losses(rates, np.exp(log_loss))
    # the valley: where the loss is lowest (flat bottoms: any point as low, to 1e-3)
    assert log_loss[np.argmin(np.abs(rates - result.valley))] <= log_loss.min() + 1e-3
    grid = 10 ** (6 / 200)  # one step of the sweep
    want = steepest if expected == "steepest" else result.valley / 4
    assert want / grid**2 <= result.suggestion <= want * grid**2
    assert (steepest < result.valley / 4) == (expected == "steepest")


def lr_range_test_from_losses(rates, losses):
    """The suggestion rule of :func:`gdlab.core.diagnostics.lr_range_test` on given losses."""
    from gdlab.core.diagnostics import LRRangeResult, _steepest_descent

    suggestion, valley, smoothed = _steepest_descent(rates, losses, 0.7, 5)
    return LRRangeResult(rates, losses, smoothed, suggestion, True, valley)


def _sweep(after_valley: list[float]) -> LRRangeResult:
    """A sweep on 1e-7 … 10: flat at 0.68 (noise 0.01) for 60 steps, falling steadily to 0.40
    at step 85 (the valley), then ``after_valley``: the shape an MLP's SGD sweep has."""
    rng = np.random.default_rng(0)
    flat = 0.68 + 0.01 * rng.standard_normal(60)
    fall = np.linspace(0.66, 0.40, 26) + 0.01 * rng.standard_normal(26)
    losses = np.concatenate([flat, fall, after_valley])
    smoothed = np.concatenate([np.full(60, 0.68), np.linspace(0.66, 0.40, 26),
                               np.asarray(after_valley) + 1.0])
    rates = np.geomspace(1e-7, 10.0, losses.size)
    return LRRangeResult(rates, losses, smoothed, float(rates[70]), True, float(rates[85]))


def test_a_descent_that_blows_up_right_after_its_valley_is_still_a_descent():
    # the loss fell 40% below its start; the blow-up past the valley is not part of the descent
    assert _sweep([0.6, 0.9, 1.2, 1.5, 1.8, 2.1]).descended
    # a sweep that never fell below its start is still called flat, with or without a blow-up
    flat = _sweep([0.6, 0.9, 1.2, 1.5, 1.8, 2.1])
    flat.losses[60:86] = 0.68 + 0.01 * np.random.default_rng(1).standard_normal(26)
    assert not flat.descended


@pytest.mark.parametrize(
    ("preprocess", "advised", "not_advised"),
    [({}, [], ["scale the", "preprocess.standardize", "preprocess.scale_target"]),
     ({"standardize": False}, ["scale the features (preprocess.standardize)"],
      ["preprocess.scale_target"]),
     ({"scale_target": False}, ["scale the target (preprocess.scale_target)"],
      ["preprocess.standardize"]),
     ({"standardize": False, "scale_target": False},
      ["scale the features (preprocess.standardize) and the target (preprocess.scale_target)"],
      [])],
)
def test_no_descent_advice_names_only_the_scaling_the_preprocessing_leaves_undone(
    preprocess, advised, not_advised
):
    rng = np.random.default_rng(0)
    noise = rng.normal(size=400)
    X, y = rng.normal(size=(400, 5)), noise - noise.mean()  # nothing to learn
    params = make_params(model={"task": "regression"}, optimizer={"name": "sgd"},
                         preprocess=preprocess)
    [line] = [ln for ln in lr_guidance(params, X, y).lines() if "no descent found" in ln]
    assert "try another optimiser or batch size" in line
    for text in advised:
        assert text in line
    for text in not_advised:
        assert text not in line


def test_no_descent_advice_never_asks_a_classifier_to_scale_its_labels():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 5)), np.tile([0, 1], 200)  # labels unrelated to X
    params = make_params(optimizer={"name": "sgd"}, preprocess={"standardize": False})
    report = lr_guidance(params, X, y)
    assert params.model.task == "classification" and not report.range_test.descended
    [line] = [ln for ln in report.lines() if "no descent found" in ln]
    assert "scale the features (preprocess.standardize), or" in line
    assert "target" not in line


def test_the_range_test_of_a_built_regression_pipeline_is_lr_finds():
    """``lr_range_test(build_pipeline(params), X, y)`` refused the pipeline a regression's
    ``preprocess.scale_target`` builds (its last step a TransformedTargetRegressor); it sweeps
    it as ``gdlab lr-find`` does: the regressor on the standardised target."""
    from sklearn.compose import TransformedTargetRegressor

    from gdlab.experiment import build_pipeline

    params = make_params(model={"task": "regression"}, optimizer={"name": "sgd"},
                         train={"batch_size": 32})
    assert params.preprocess.scale_target
    X, y = least_squares(0, n=400, d=5)
    y = 50.0 + 30.0 * y  # far from unit scale: the transform matters
    pipeline = build_pipeline(params)
    assert isinstance(pipeline[-1], TransformedTargetRegressor)
    got = lr_range_test(pipeline, X, y, num_steps=60)
    expected = lr_guidance(params, X, y, num_steps=60).range_test
    assert got.suggestion == expected.suggestion and got.valley == expected.valley
    np.testing.assert_array_equal(got.learning_rates, expected.learning_rates)
    np.testing.assert_array_equal(got.losses, expected.losses)


def test_a_descent_whose_last_batches_already_blow_up_is_still_a_descent():
    # a sweep that ran to end_lr without stopping, its loss at the valley (the last point)
    # ~0.02 but a few batches there already at 0.3-2 (seen on breast cancer, adam, batch 32,
    # about 1 sweep in 40): the loss fell 97% below its start of 0.693
    rng = np.random.default_rng(0)
    flat = 0.693 + 5e-6 * rng.standard_normal(60)
    fall = np.geomspace(0.69, 0.02, 30)
    late = np.array([0.129, 0.31, 0.007, 0.024, 0.214, 0.011, 0.012, 0.024, 1.561, 0.627])
    losses = np.concatenate([flat, fall, late])
    smoothed = np.concatenate([flat, fall, np.linspace(0.02, 0.015, 10)])  # lowest: the end
    rates = np.geomspace(1e-7, 10.0, losses.size)
    sweep = LRRangeResult(rates, losses, smoothed, 2.5, False, 10.0)
    assert sweep.descended
    # the same late losses with no descent before them (every earlier batch drawn from
    # them: as low and as noisy from the start): still no descent
    noisy = losses.copy()
    noisy[:90] = rng.choice(late, 90)
    assert not LRRangeResult(rates, noisy, smoothed, 2.5, False, 10.0).descended
