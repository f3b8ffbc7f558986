"""Warnings about variants that do nothing somewhere: a tune.space value or a compare value
that gives an inert problem (:attr:`gdlab.config.errors.Problem.inert`), such as the
max_epochs 20 end of a range under a step schedule with step_size 30. params.yaml's own inert
values are refused; a variant's are accepted (it is a point of the sweep) and named here so
validate can say so."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdlab.config.schema import Params


def inert_variant_warnings(params: Params) -> list[str]:
    """One line per inert problem of a search-space value (when tune.enabled) or of a compare
    variant (when compare.enabled), naming the variant and what does nothing in it."""
    notes = (params.tune.space_notes(params) if params.tune.enabled else [])
    notes += params.compare.variant_notes(params)
    return [
        f"{note} (accepted: a point of the sweep in which that setting does nothing; "
        "params.yaml's own value would be refused)"
        for note in notes
    ]
