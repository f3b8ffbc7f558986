"""``model:`` and ``preprocess:`` — the model family, its loss and penalty, and the
preprocessing put in front of it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gdlab.config.base import (
    Section,
    TupleAsList,
    check_import_path,
    is_import_path,
    non_finite_paths,
    plugin_build_problem,
)
from gdlab.config.class_weight import class_weight_problems
from gdlab.config.errors import Problem, did_you_mean, raise_problems
from gdlab.config.plugin_probes import probed_once

if TYPE_CHECKING:
    from gdlab.config.schema import Params

MODEL_KINDS = ("linear", "mlp")
LOSSES: dict[str, tuple[str, ...]] = {
    "regression": ("squared_error", "huber"),
    "classification": ("log_loss",),
}
"""The losses that fit each task; the first is what ``loss: auto`` picks."""

Task = Literal["regression", "classification"]

ClassLabel = StrictBool | StrictInt | StrictStr
"""A class label as a key of ``model.class_weight``: YAML's text, integer or boolean."""


class PreprocessConfig(Section):
    """Preprocessing in the model pipeline (fitted on training rows only)."""

    standardize: bool = Field(True, description="scale every feature to mean 0, variance 1")
    polynomial_degree: int = Field(
        1, ge=1, le=5, description="add polynomial features up to this degree (1 = none)"
    )
    scale_target: bool = Field(
        True,
        description="regression: train on the target standardised to mean 0, variance 1 "
        "(fitted on the training rows' targets; predictions and metrics stay in target units, "
        "the loss curves, train.tol, compare.target_loss and huber's epsilon are in "
        "standardised units); ignored for classification",
    )


class ModelConfig(Section):
    """Model family, task, loss and penalty."""

    kind: str = Field(
        "linear",
        min_length=1,
        description="model family, or a plug-in factory 'package.module:factory'",
        json_schema_extra={"x-allowed": " | ".join(MODEL_KINDS) + " | 'package.module:factory'"},
    )
    task: Task = Field("classification", description="what is predicted")
    loss: Literal["auto", "squared_error", "huber", "log_loss"] = Field(
        "auto", description="training loss; auto = squared_error (regression) / log_loss"
    )
    epsilon: float = Field(
        1.0, gt=0, description="huber: residual size where the loss turns linear (in target "
        "standard deviations with preprocess.scale_target)"
    )
    alpha: float = Field(0.0001, ge=0, description=(
        "penalty strength α on the weights, added to the mean loss (scikit-learn SGD's "
        "alpha; scikit-learn MLP's alpha is about α × batch size)"))
    l1_ratio: float = Field(
        0.0, ge=0, le=1, description="elastic-net mix: 0 = L2 only, 1 = L1 only"
    )
    hidden_layer_sizes: Annotated[list[Annotated[int, Field(ge=1)]], TupleAsList] = Field(
        default_factory=lambda: [32], min_length=1, description="mlp: units per hidden layer"
    )
    activation: Literal["relu", "tanh", "logistic"] = Field(
        "relu", description="mlp: hidden-layer activation"
    )
    class_weight: Literal["balanced"] | dict[ClassLabel, float] | None = Field(
        None,
        description="classification: weight of each class's rows in the training loss "
        "(multiplied into its sample weight, as scikit-learn's class_weight): null = every "
        "class 1; balanced = n_rows / (n_classes * rows of the class), from the training "
        "rows; or a mapping class label -> weight > 0 (a class left out weighs 1), its labels "
        "written as the target holds them: a number for a numeric target (1, not '1'), text "
        "for a text target (fraud), each a class validate finds in the data",
        json_schema_extra={"x-allowed": "null | balanced | {label: weight > 0}"},
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="plug-in model (kind 'package.module:factory'): the factory's keyword "
        "arguments; built-in kinds take none",
        json_schema_extra={"x-allowed": "{} for linear/mlp; plug-ins: any finite values"},
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if is_import_path(kind):
            problem = check_import_path(kind, "model")
            if problem:
                raise_problems([Problem("", problem, "a callable 'package.module:factory'")])
        elif kind not in MODEL_KINDS:
            raise_problems(
                [
                    Problem(
                        "",
                        f"unknown model kind {kind!r}{did_you_mean(kind, MODEL_KINDS)}",
                        " | ".join(MODEL_KINDS) + " | 'package.module:factory'",
                    )
                ]
            )
        return kind

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_weight_shape(cls, class_weight: Any) -> Any:
        raise_problems(class_weight_problems(class_weight))
        return class_weight

    @field_validator("params")
    @classmethod
    def _params_fit_kind(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")  # absent when the kind itself is wrong
        if kind in MODEL_KINDS and params:
            raise_problems(
                Problem(str(key), f"unknown key: model kind {kind} takes no params", "{}")
                for key in params
            )
        raise_problems(
            Problem(path, "must be a finite number", "finite numbers")
            for path in non_finite_paths(params)
        )
        return params

    @model_validator(mode="after")
    def _plugin_builds(self) -> ModelConfig:
        """Build a plug-in model as training will: a factory that raises or returns what
        the contract does not allow is refused at ``params``; one that builds a class its
        module does not define (re-exported from another module: a saved model would not
        trust it) at ``kind``."""
        if is_import_path(self.kind):
            from gdlab.core.plugins import make_model

            problem = plugin_build_problem(
                "params", make_model, self.kind, self.params, origin=(self.kind, "model", "kind")
            )
            if problem:
                raise_problems([problem])
        return self

    def cross_checks(self, params: Params) -> list[Problem]:
        """A plug-in model run once on a made-up problem in ``train.dtype``: an
        ``init_params`` ignoring the dtype, or a ``backward`` returning its gradients
        instead of writing them into ``grads`` (or in another shape), is refused at
        ``model.kind`` before any stage reads data. Once per validate for the same plug-in,
        params and dtype (:mod:`gdlab.config.plugin_probes`), not once per variant."""
        if not is_import_path(self.kind):
            return []
        dtype = params.train.dtype
        what = (self.kind, json.dumps(self.params, sort_keys=True, default=repr), dtype)
        return probed_once(what, lambda: self._probe(dtype))

    def _probe(self, dtype: str) -> list[Problem]:
        from gdlab.core.plugins import PluginContractError, make_model, probe_model

        try:
            probe_model(make_model(self.kind, self.params), dtype)
        except PluginContractError as exc:
            return [Problem(exc.key, str(exc), "what the plug-in contract of docs/plugins.md "
                            "allows")]
        except Exception:  # noqa: BLE001 - a build problem: _plugin_builds reported it
            return []
        return []

    @model_validator(mode="after")
    def _loss_fits_task(self) -> ModelConfig:
        fits = LOSSES[self.task]
        if self.loss != "auto" and self.loss not in fits:
            raise_problems(
                [
                    Problem(
                        "loss",
                        f"{self.loss} does not fit task {self.task}",
                        " | ".join(("auto", *fits)),
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _class_weight_fits_task(self) -> ModelConfig:
        if self.class_weight is not None and self.task != "classification":
            raise_problems([Problem(
                "class_weight",
                f"{self.class_weight!r} weighs classes, but task {self.task} has none",
                "null (or model.task: classification)",
            )])
        return self

    @property
    def resolved_loss(self) -> str:
        """The loss actually used (``auto`` resolved for the task)."""
        return LOSSES[self.task][0] if self.loss == "auto" else self.loss
