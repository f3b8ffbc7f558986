"""Configuration problems: one :class:`Problem` per wrong key, gathered into a :class:`ConfigError`.

Every message has the shape ``key.path: what is wrong (allowed: ...)`` so that a user can find the
key in ``params.yaml`` and see at once what would be accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from pydantic_core import PydanticCustomError

RULES_ERROR = "gdlab_rules"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one key of the parameters.

    ``inert``: the value is valid but does nothing (a schedule that never fires, dampening
    without momentum). params.yaml's own inert values are refused (most likely a mistake); a
    variant of them (a tune.space value, a compare value, tuned values) may be inert: it is a
    point of a sweep, e.g. the constant end of a max_epochs range (see
    :func:`gdlab.config.loader.validate_params`'s ``variant``).
    """

    path: str
    message: str
    allowed: str | None = None
    inert: bool = False

    def __str__(self) -> str:
        where = self.path or "(top level)"
        tail = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}: {self.message}{tail}"

    def under(self, prefix: str) -> Problem:
        """The same problem, its path prefixed by ``prefix`` (a dotted path or '')."""
        if not prefix:
            return self
        path = (
            prefix if not self.path else f"{prefix}{'' if self.path[0] == '[' else '.'}{self.path}"
        )
        return Problem(path, self.message, self.allowed, self.inert)


def did_you_mean(value: object, options: Iterable[object]) -> str:
    """``"; did you mean 'cosine'?"`` for the option closest to a misspelt ``value`` (difflib's
    closest match, the same for keys and for values), else ``""``."""
    if not isinstance(value, str):
        return ""
    names = {str(option): option for option in options}
    guess = difflib.get_close_matches(value, list(names), n=1)
    return f"; did you mean {names[guess[0]]!r}?" if guess else ""


class ConfigError(ValueError):
    """Invalid parameters. ``str(err)`` lists every problem, one per line."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the parameters:"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def raise_problems(problems: Iterable[Problem]) -> None:
    """Inside a pydantic validator: raise all ``problems`` at once (no-op when there are none).

    Paths are relative to the model being validated; :func:`gdlab.config.loader.to_config_error`
    prefixes them with the model's location.
    """
    problems = tuple(problems)
    if problems:
        _raise(problems)


def _raise(problems: tuple[Problem, ...]) -> NoReturn:
    summary = "; ".join(str(p) for p in problems)
    raise PydanticCustomError(RULES_ERROR, "{summary}", {"summary": summary, "problems": problems})
