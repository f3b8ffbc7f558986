"""Send metrics, params and tags to MLflow in ``log_batch`` chunks within the API limits
(1000 metrics, 100 params, 100 tags per request): never one call per point."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from gdlab.tracking.uri import redact_uri

MAX_PARAMS = 100
MAX_TAGS = 100
MAX_PARAM_VALUE = 6000
MAX_ENTITIES = 1000
"""MLflow's limit on metrics + params + tags in one ``log_batch``."""


def curve_metrics(
    curves: Mapping[str, Sequence[float | None]],
    timestamp_ms: int | None = None,
    epoch_ends: Sequence[float] | None = None,
) -> list[Metric]:
    """One ``Metric`` per (curve, epoch) with ``step=epoch`` (0-based); ``None`` points skipped.

    Epoch ``e``'s points are stamped ``epoch_ends[e]`` (Unix seconds: when that epoch ended,
    as :class:`gdlab.experiment.FitOutcome` records it), so MLflow's wall-time and
    relative-time axes spread the curve over the fit; epochs beyond ``epoch_ends`` (or all,
    without it) get ``timestamp_ms`` (default now)."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    ends = [int(t * 1000) for t in (epoch_ends or ())]
    return [
        Metric(key=name, value=float(value), timestamp=ends[epoch] if epoch < len(ends) else ts,
               step=epoch)
        for name, values in curves.items()
        for epoch, value in enumerate(values)
        if value is not None
    ]


def scalar_metrics(
    values: Mapping[str, float],
    step: int = 0,
    timestamp_ms: int | None = None,
    *,
    model_id: str | None = None,
    dataset: Any = None,
) -> list[Metric]:
    """Final (scalar) metrics as ``Metric`` entities at ``step``; linked to the logged model
    ``model_id`` and measured on ``dataset`` (an MLflow dataset: its name and digest) when
    given, as ``mlflow.log_metrics(model_id=..., dataset=...)`` links them."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    name = getattr(dataset, "name", None) if dataset is not None else None
    digest = getattr(dataset, "digest", None) if dataset is not None else None
    return [
        Metric(key=k, value=float(v), timestamp=ts, step=step, model_id=model_id,
               dataset_name=name, dataset_digest=digest)
        for k, v in values.items()
    ]


def log_metrics(client: MlflowClient, run_id: str, metrics: Sequence[Metric]) -> int:
    """Log ``metrics`` in chunks of at most 1000; returns the number of ``log_batch`` calls."""
    return log_run_data(client, run_id, metrics=metrics)


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, Any]) -> int:
    """Log ``params`` (values stringified, cut to MLflow's 6000 characters) 100 at a time."""
    return log_run_data(client, run_id, params=params)


def log_tags(client: MlflowClient, run_id: str, tags: Mapping[str, Any]) -> int:
    """Set ``tags`` (None values left out) 100 at a time."""
    return log_run_data(client, run_id, tags=tags)


def log_run_data(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metrics: Sequence[Metric] = (),
) -> int:
    """Params, tags and metrics of one run in as few ``log_batch`` calls as the limits allow
    (each call takes up to 100 params, 100 tags and metrics up to 1000 entities in all);
    returns the number of calls. Param values are stringified and cut to MLflow's 6000
    characters, tags with a None value left out, credentials in either redacted."""
    param_list = [Param(k, _param_value(v)) for k, v in sorted((params or {}).items())]
    tag_list = [RunTag(k, _safe(str(v))) for k, v in sorted((tags or {}).items()) if v is not None]
    metric_list = list(metrics)
    calls = 0
    while param_list or tag_list or metric_list:
        batch_params, param_list = param_list[:MAX_PARAMS], param_list[MAX_PARAMS:]
        batch_tags, tag_list = tag_list[:MAX_TAGS], tag_list[MAX_TAGS:]
        room = MAX_ENTITIES - len(batch_params) - len(batch_tags)
        batch_metrics, metric_list = metric_list[:room], metric_list[room:]
        client.log_batch(
            run_id, metrics=batch_metrics, params=batch_params, tags=batch_tags, synchronous=True
        )
        calls += 1
    return calls


_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
_URI = re.compile(_SCHEME + r".+?(?=$|[\s,;]|" + _SCHEME + ")")
"""A URI quoted in a longer text: up to whitespace, ``,``, ``;`` or the next ``scheme://``."""


def _safe(text: str) -> str:
    """``text`` with a credential in a URI (``user:password@``, ``?token=``) replaced by ***.
    A value that is one URI (one ``scheme://``, no whitespace) is read whole, so a password
    holding ``,`` or ``;`` is hidden too; in any other text each quoted URI is read on its
    own (reading it all as one URI would re-render, and percent-encode, the words after it)."""
    if "://" not in text:
        return text
    if len(re.findall(_SCHEME, text)) == 1 and not any(ch.isspace() for ch in text):
        return redact_uri(text)
    return _URI.sub(lambda found: redact_uri(found.group(0)), text)


def _param_value(value: Any) -> str:
    text = "None" if value is None else _safe(str(value))
    return text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."
