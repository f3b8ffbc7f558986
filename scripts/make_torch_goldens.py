"""Generate torch golden trajectories for gdlab's optimiser parity test.

Runs small full-batch problems (regression, binary logistic, 3-class softmax) with
``torch.optim`` optimisers, ``torch.optim.lr_scheduler`` schedules and
``torch.nn.utils.clip_grad_norm_`` in float64, and stores, for every case, the loss
before each step (penalty included) and the final parameters in
``tests/core/goldens/torch_trajectories.npz``. ``tests/core/test_torch_parity.py``
reads only that file, so torch stays a dev/bench-only dependency.

Regenerate (needs the ``bench`` extra, i.e. torch)::

    .venv/bin/python scripts/make_torch_goldens.py

npz layout: ``specs`` is a JSON string (a list of case dicts, see :func:`build_cases`);
``X__<problem>`` / ``y__<problem>`` hold the data of each problem; ``loss__<id>``
(``N_STEPS`` losses), ``lr__<id>`` (the learning rate each step used), ``W__<id>``
(n_features x n_outputs) and ``b__<id>`` (n_outputs) hold each case's trajectory,
``<id>`` being the ``id`` of the spec (``<case>-<problem>``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

N_SAMPLES = 64
N_FEATURES = 5
N_CLASSES = 3
N_STEPS = 40
SEED = 20240601
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests/core/goldens/torch_trajectories.npz"

PROBLEMS = ("regression", "binary", "multiclass")

# gdlab optimiser name -> torch.optim class name.
TORCH_OPTIMIZERS = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "NAdam",
}
# What gdlab's presets add to the torch arguments.
PRESET_DEFAULTS = {
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
}
# gdlab schedule name -> torch.optim.lr_scheduler class name.
TORCH_SCHEDULES = {
    "step": "StepLR",
    "exponential": "ExponentialLR",
    "cosine": "CosineAnnealingLR",
}

LR = {
    "sgd": 0.1,
    "momentum": 0.1,
    "nesterov": 0.1,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adam": 0.05,
    "adamw": 0.05,
    "nadam": 0.05,
}


def make_problems(seed: int = SEED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three small seeded data sets; labels are integers 0..K-1 for classification."""
    rng = np.random.default_rng(seed)
    out = {}

    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    y = X @ w + 0.7 + 0.3 * rng.standard_normal(N_SAMPLES)
    out["regression"] = (X, y)

    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    z = X @ w + 0.4 + 0.5 * rng.standard_normal(N_SAMPLES)
    y = (z > 0).astype(np.int64)
    # mean(y) != 1/2 so that the zero-init intercept gradient is not exactly zero
    # (Adam-like optimisers would then amplify rounding noise into full steps).
    assert 0 < y.sum() < N_SAMPLES and 2 * y.sum() != N_SAMPLES
    out["binary"] = (X, y)

    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    W = rng.standard_normal((N_FEATURES, N_CLASSES))
    Z = X @ W + np.array([0.3, 0.0, -0.2]) + 0.5 * rng.standard_normal((N_SAMPLES, N_CLASSES))
    y = Z.argmax(axis=1).astype(np.int64)
    assert set(np.unique(y)) == set(range(N_CLASSES))
    out["multiclass"] = (X, y)
    return out


def build_cases() -> list[dict]:
    """The case specs (without problem), in gdlab's vocabulary.

    ``optimizer_params`` are named as torch names them and are accepted by gdlab's
    factory of the same name; ``schedule_params`` are torch's scheduler arguments.
    """
    cases: list[dict] = []

    def add(
        case_id,
        optimizer,
        params=None,
        *,
        schedule="constant",
        schedule_params=None,
        clip_norm=None,
        alpha=0.0,
        learning_rate=None,
    ):
        cases.append(
            {
                "case": case_id,
                "optimizer": optimizer,
                "optimizer_params": dict(params or {}),
                "learning_rate": LR[optimizer] if learning_rate is None else learning_rate,
                "schedule": schedule,
                "schedule_params": dict(schedule_params or {}),
                "clip_norm": clip_norm,
                "alpha": alpha,
            }
        )

    # optimisers
    add("sgd", "sgd")
    add("sgd_momentum", "momentum", {"momentum": 0.9})
    add("sgd_momentum_dampening", "momentum", {"momentum": 0.9, "dampening": 0.5})
    add("sgd_nesterov", "nesterov", {"momentum": 0.9})
    add("sgd_nesterov_generic", "sgd", {"momentum": 0.9, "nesterov": True})
    add("sgd_weight_decay", "sgd", {"weight_decay": 0.1})
    add("adagrad", "adagrad")
    add(
        "adagrad_options",
        "adagrad",
        {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05},
    )
    add("rmsprop", "rmsprop")
    add("rmsprop_centered", "rmsprop", {"centered": True})
    add("rmsprop_momentum", "rmsprop", {"momentum": 0.5})
    add("rmsprop_centered_momentum", "rmsprop", {"centered": True, "momentum": 0.5})
    add("adam", "adam")
    add("adam_amsgrad", "adam", {"betas": [0.9, 0.999], "amsgrad": True})
    # a short beta2 makes v shrink early, so max(v) vs max(v-hat) would show
    add("adam_amsgrad_beta2", "adam", {"betas": [0.9, 0.9], "amsgrad": True})
    add("adam_weight_decay", "adam", {"weight_decay": 0.1})
    add("adamw", "adamw")
    add("adamw_amsgrad", "adamw", {"amsgrad": True})
    add("nadam", "nadam")
    add("nadam_weight_decay", "nadam", {"weight_decay": 0.1})
    # the remaining hyper-parameters away from their defaults
    add("adagrad_eps", "adagrad", {"eps": 1e-2})
    add("rmsprop_alpha_eps", "rmsprop", {"alpha": 0.9, "eps": 1e-3})
    add("adam_betas_eps", "adam", {"betas": [0.8, 0.99], "eps": 1e-3})
    add("adamw_options", "adamw", {"betas": [0.8, 0.99], "eps": 1e-3, "weight_decay": 0.1})
    add("nadam_options", "nadam", {"betas": [0.8, 0.99], "eps": 1e-3, "momentum_decay": 0.05})

    # L2 penalty (alpha, weights only) in the loss
    add("sgd_l2", "sgd", alpha=1e-2)
    add("adam_l2", "adam", alpha=1e-2)
    add("adamw_l2", "adamw", alpha=1e-2)

    # schedules, stepped once per epoch (= once per step in full batch)
    schedules = {
        "step": {"step_size": 10, "gamma": 0.5},
        "exponential": {"gamma": 0.95},
        "cosine": {"T_max": 40, "eta_min": 0.001},
    }
    for name, sp in schedules.items():
        add(f"momentum_{name}", "momentum", {"momentum": 0.9}, schedule=name, schedule_params=sp)
        add(f"adam_{name}", "adam", schedule=name, schedule_params=sp)
    add("adamw_cosine", "adamw", schedule="cosine", schedule_params=schedules["cosine"])
    add(
        "adagrad_options_step",
        "adagrad",
        {"lr_decay": 0.01, "weight_decay": 0.05},
        schedule="step",
        schedule_params=schedules["step"],
    )

    # global-norm clipping, after backward (penalty included), before the step
    add("sgd_clip", "sgd", clip_norm=0.1)
    add("adam_clip", "adam", clip_norm=0.1)
    add("momentum_clip_l2", "momentum", {"momentum": 0.9}, clip_norm=0.1, alpha=1e-2)
    return cases


def torch_loss(problem: str, X, y, W, b, alpha: float):
    """Mean loss over samples plus alpha * 1/2 ||W||^2 (never the bias)."""
    Z = X @ W + b
    if problem == "regression":
        loss = 0.5 * ((Z[:, 0] - y) ** 2).mean()
    elif problem == "binary":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Z[:, 0], y.to(Z.dtype))
    else:
        loss = torch.nn.functional.cross_entropy(Z, y)
    if alpha:
        loss = loss + alpha * 0.5 * (W**2).sum()
    return loss


def run_case(problem: str, X_np: np.ndarray, y_np: np.ndarray, spec: dict):
    """Run N_STEPS full-batch steps.

    Returns the loss before each step, the learning rate used by each step, and the
    final W and b.
    """
    n_out = N_CLASSES if problem == "multiclass" else 1
    X = torch.from_numpy(X_np)
    y = torch.from_numpy(y_np)
    W = torch.zeros((X_np.shape[1], n_out), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_out, dtype=torch.float64, requires_grad=True)
    params = [W, b]

    kwargs = {**PRESET_DEFAULTS.get(spec["optimizer"], {}), **spec["optimizer_params"]}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt_cls = getattr(torch.optim, TORCH_OPTIMIZERS[spec["optimizer"]])
    opt = opt_cls(params, lr=spec["learning_rate"], foreach=False, **kwargs)
    sched = None
    if spec["schedule"] != "constant":
        sched_cls = getattr(torch.optim.lr_scheduler, TORCH_SCHEDULES[spec["schedule"]])
        sched = sched_cls(opt, **spec["schedule_params"])

    losses, lrs = [], []
    for _ in range(N_STEPS):
        opt.zero_grad()
        loss = torch_loss(problem, X, y, W, b, spec["alpha"])
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        loss.backward()
        if spec["clip_norm"] is not None:
            torch.nn.utils.clip_grad_norm_(params, max_norm=spec["clip_norm"])
        opt.step()
        if sched is not None:
            sched.step()
    return (
        np.array(losses),
        np.array(lrs),
        W.detach().numpy().copy(),
        b.detach().numpy().copy(),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    torch.set_default_dtype(torch.float64)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    problems = make_problems()
    arrays: dict[str, np.ndarray] = {}
    for name, (X, y) in problems.items():
        arrays[f"X__{name}"] = X
        arrays[f"y__{name}"] = y

    specs = []
    for base in build_cases():
        for problem in PROBLEMS:
            spec = {**base, "id": f"{base['case']}-{problem}", "problem": problem}
            losses, lrs, W, b = run_case(problem, *problems[problem], spec)
            if not (np.all(np.isfinite(losses)) and losses[-1] < losses[0]):
                raise RuntimeError(f"case {spec['id']} made no progress: {losses[[0, -1]]}")
            arrays[f"loss__{spec['id']}"] = losses
            arrays[f"lr__{spec['id']}"] = lrs
            arrays[f"W__{spec['id']}"] = W
            arrays[f"b__{spec['id']}"] = b
            specs.append(spec)

    meta = {
        "torch_version": torch.__version__,
        "n_steps": N_STEPS,
        "seed": SEED,
        "generator": "scripts/make_torch_goldens.py",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, specs=np.array(json.dumps(specs)), meta=np.array(json.dumps(meta)), **arrays
    )
    print(f"wrote {len(specs)} cases to {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
