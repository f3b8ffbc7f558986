"""Labels that params.yaml's reader turns into booleans: PyYAML reads YAML 1.1, where an
unquoted ``yes``, ``no``, ``on``, ``off``, ``true`` or ``false`` (lower case, capitalised or
upper case) is a bool, so ``metrics.positive_label: yes`` (as ``dvc exp run -S
metrics.positive_label=yes`` writes it) names ``True``, not the class ``'yes'``. gdlab does not
guess which was meant (``True`` is a class of a boolean target): the refusal says to quote it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SPELLINGS = {
    True: ("yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"),
    False: ("no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"),
}
"""How YAML 1.1 (PyYAML) spells each bool unquoted."""


def misread_label(configured: Any, classes: Iterable[Any]) -> str | None:
    """The text class of ``classes`` that ``configured``, a bool, was most likely written as
    unquoted (``'yes'`` for ``True`` among ``'no'``/``'yes'``); None when there is none."""
    if not isinstance(configured, bool):
        return None
    spelled = [c for c in classes if isinstance(c, str) and c in SPELLINGS[configured]]
    return spelled[0] if len(spelled) == 1 else None


def quote_hint(configured: Any, classes: Iterable[Any]) -> str:
    """``"; params.yaml's unquoted yes is read as True (YAML 1.1): quote it, 'yes'"`` when
    ``configured`` is a bool that one of the text ``classes`` spells unquoted, else ``""``."""
    label = misread_label(configured, classes)
    if label is None:
        return ""
    return (f"; params.yaml's unquoted {label} is read as {configured} (YAML 1.1): quote it, "
            f"'{label}'")
