"""``data.pii:`` — columns holding personal data: dropped, or pseudonymised with a keyed hash;
and columns that only look like it, kept as they are.

The key of the hash (HMAC-SHA256) is read from the environment variable named by ``key_env``;
it never appears in params.yaml, the prepared data, MLflow or the repository. Hashed
identifiers are still personal data under the GDPR (pseudonymous, not anonymous): prefer
``drop`` unless the column is needed, e.g. as the sensitive attribute of the fairness check.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field, model_validator

from gdlab.config.base import StrictModel
from gdlab.config.errors import Problem, raise_problems

MIN_KEY_BYTES = 16
"""Shortest HMAC key accepted: a short key lets anyone rebuild tokens of small value sets
(phone numbers, postcodes) by brute force."""


class PiiConfig(StrictModel):
    """Columns with personal data: dropped, or replaced by HMAC-SHA256 tokens (keyed hashing);
    columns that only look like it: kept."""

    drop: list[str] = Field(
        default_factory=list,
        description="columns removed as soon as the data is read (never features, never stored)",
        json_schema_extra={"x-allowed": "feature columns (not the target or sensitive column)"},
    )
    pseudonymise: list[str] = Field(
        default_factory=list,
        description="columns whose values are replaced by HMAC-SHA256 tokens before any check "
        "(e.g. the sensitive attribute); the key comes from the environment variable key_env",
        json_schema_extra={"x-allowed": "feature or sensitive columns (not the target)"},
    )
    keep: list[str] = Field(
        default_factory=list,
        description="columns that only look like personal data (product codes, ticket numbers): "
        "not refused by the scan for e-mail addresses and phone numbers; then features like any "
        "other column (text is one-hot encoded by data.categorical; one with over "
        "data.max_categories levels or "
        "a distinct value on every row is refused as an identifier)",
        json_schema_extra={"x-allowed": "columns not under drop or pseudonymise"},
    )
    key_env: str = Field(
        "GDLAB_PII_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="name of the environment variable holding the HMAC key "
        f"(at least {MIN_KEY_BYTES} bytes); the key itself never goes in params.yaml",
        json_schema_extra={"x-allowed": "an environment variable name"},
    )

    @model_validator(mode="after")
    def _each_column_once(self) -> PiiConfig:
        problems = []
        for key in ("drop", "pseudonymise", "keep"):
            names = getattr(self, key)
            twice = sorted(n for n, c in Counter(names).items() if c > 1)
            if twice:
                problems.append(
                    Problem(key, f"lists {', '.join(map(repr, twice))} twice", "each column once")
                )
            empty = [i for i, n in enumerate(names) if not n.strip()]
            if empty:
                problems.append(Problem(f"{key}[{empty[0]}]", "is empty", "a column name"))
        both = sorted(set(self.drop) & set(self.pseudonymise))
        if both:
            problems.append(
                Problem(
                    "pseudonymise",
                    f"{', '.join(map(repr, both))} also listed under drop",
                    "a column either dropped or pseudonymised",
                )
            )
        for key in ("drop", "pseudonymise"):
            both = sorted(set(self.keep) & set(getattr(self, key)))
            if both:
                problems.append(
                    Problem(
                        "keep",
                        f"{', '.join(map(repr, both))} also listed under {key}: a column kept "
                        f"as it is cannot be {'dropped' if key == 'drop' else 'pseudonymised'}",
                        "a column under keep, or under drop or pseudonymise, not both",
                    )
                )
        raise_problems(problems)
        return self

    @property
    def declared(self) -> set[str]:
        """Every column declared as personal data."""
        return set(self.drop) | set(self.pseudonymise)

    @property
    def not_scanned(self) -> set[str]:
        """Columns the scan for undeclared personal data skips: declared, or kept as they are."""
        return self.declared | set(self.keep)
