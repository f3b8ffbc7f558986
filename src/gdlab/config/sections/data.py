"""``data:`` — where the data comes from and how the checks treat it."""

from __future__ import annotations

import codecs
import math
from collections import Counter
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from gdlab.config.base import Section, StrictModel
from gdlab.config.errors import Problem, raise_problems
from gdlab.config.sections.privacy import PiiConfig

if TYPE_CHECKING:
    from gdlab.config.schema import Params

BUNDLED_TASKS: dict[str, str] = {
    "diabetes": "regression",
    "breast_cancer": "classification",
    "wine": "classification",
    "digits": "classification",
}
"""scikit-learn's bundled data sets and the task each one is made for."""

BUNDLED_TARGET = "target"
"""The target column's name in a bundled data set (its features keep scikit-learn's names)."""

FILE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"),
    "parquet": (".parquet", ".pq"),
}
"""File sources and the file-name endings each accepts."""

SYNTHETIC_GROUP = "group"
"""Name of the synthetic sensitive column (``data.synthetic.sensitive_group: true``)."""

PII_ALLOWED = {
    "drop": "feature columns only",
    "pseudonymise": "feature or sensitive columns only",
}
"""What data.pii.drop / pseudonymise may list (the target never; dropping the sensitive column
leaves evaluation without its groups)."""
PII_DONE = {"drop": "dropped", "pseudonymise": "pseudonymised"}

Source = Literal["synthetic", "diabetes", "breast_cancer", "wine", "digits", "csv", "parquet"]


class SyntheticConfig(StrictModel):
    """Generated data (make_regression / make_classification) for data.source synthetic."""

    n_samples: int = Field(4000, ge=10, le=10_000_000, description="number of rows")
    n_features: int = Field(20, ge=1, le=100_000, description="number of feature columns")
    n_informative: int = Field(
        10, ge=1, description="features that carry signal (at most n_features)"
    )
    n_classes: int = Field(2, ge=2, le=1000, description="classes (classification only)")
    noise: float = Field(
        0.1,
        ge=0,
        description="regression: std of Gaussian noise on the target; "
        "classification: fraction of labels drawn at random (<= 1)",
    )
    feature_scale: float = Field(1.0, gt=0, description="every feature is multiplied by this")
    condition_number: float = Field(
        1.0,
        ge=1,
        le=1e12,
        description="condition number of the feature covariance (principal directions scaled)",
    )
    sensitive_group: bool = Field(
        False, description=f"add a binary column {SYNTHETIC_GROUP!r} correlated with the target"
    )

    @model_validator(mode="after")
    def _informative_fits(self) -> SyntheticConfig:
        if self.n_informative > self.n_features:
            raise_problems(
                [
                    Problem(
                        "n_informative",
                        f"{self.n_informative} is more than n_features ({self.n_features})",
                        f"1 to n_features ({self.n_features})",
                    )
                ]
            )
        return self


class DataConfig(Section):
    """Data source, split and checks (before the model pipeline)."""

    source: Source = Field("synthetic", description="where the rows come from")
    path: str | None = Field(
        None, min_length=1, description="file to read; required for csv/parquet, else null"
    )
    target: str | None = Field(
        None, min_length=1, description="target column of the file; required for csv/parquet"
    )
    delimiter: str = Field(
        ",",
        min_length=1,
        max_length=1,
        description="CSV field separator (one character)",
        json_schema_extra={"x-allowed": "one character, e.g. ',' ';' '\\t'"},
    )
    encoding: str = Field(
        "utf-8", min_length=1, description="CSV text encoding (a Python codec name)"
    )
    decimal: Literal[".", ","] = Field(
        ".",
        description="CSV decimal mark: ',' for European exports (59,5; with delimiter ';', "
        "or with delimiter ',' when every such number is quoted: \"59,5\")",
    )
    na_values: list[str] = Field(
        default_factory=list,
        description="CSV cells read as missing besides empty ones and pandas' NA, n/a, "
        "NaN, null, ... (e.g. '?', '-', 'unknown', or a number such as -999, which also "
        "matches -999.0 in a numeric column); data.missing says what happens to them",
        json_schema_extra={"x-allowed": "a list of texts or numbers, e.g. ['?', '-', -999]"},
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="fraction of rows held out for test")
    missing: Literal["refuse", "mean", "median", "most_frequent"] = Field(
        "refuse",
        description="missing feature values: refuse, or impute in the model pipeline "
        "(fitted on training rows only); a missing value in a text column one-hot encoded "
        "is no level (all its one-hot columns 0)",
    )
    categorical: Literal["onehot", "refuse"] = Field(
        "onehot", description="non-numeric feature columns: one-hot encode, or refuse"
    )
    min_rows_per_class: int = Field(
        5, ge=2, description="classification: refuse classes with fewer rows than this"
    )
    max_categories: int = Field(
        100,
        ge=2,
        description="a text feature column with more distinct values than this is refused "
        "as an identifier or free text; raise it to one-hot encode one with more levels (one "
        "feature column per level). A column with a distinct value on every row is always "
        "refused",
    )
    sensitive: str | None = Field(
        None,
        min_length=1,
        description="column kept out of the features, used by evaluation only "
        f"(synthetic: {SYNTHETIC_GROUP!r})",
    )
    drop: list[str] = Field(
        default_factory=list,
        description="columns left out as the data is read, whatever they hold (a date, free "
        "text, an identifier, a column that gives the answer away): never read from a file, "
        "never features, never stored; personal data goes under data.pii.drop",
        json_schema_extra={"x-allowed": "feature columns (not the target or sensitive column)"},
    )
    synthetic: SyntheticConfig = Field(
        default_factory=SyntheticConfig, description=SyntheticConfig.__doc__
    )
    pii: PiiConfig = Field(default_factory=PiiConfig, description=PiiConfig.__doc__)

    @field_validator("na_values", mode="before")
    @classmethod
    def _numbers_as_text(cls, values: object) -> object:
        """A numeric sentinel (``-999``, ``-1.5``) as the text pandas matches it by; booleans
        stay as they are (refused: ``true`` is no marker a file holds)."""
        if not isinstance(values, list):
            return values
        return [
            str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for v in values
        ]

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, name: str) -> str:
        try:
            codecs.lookup(name)
        except LookupError:
            raise_problems(
                [
                    Problem(
                        "",
                        f"unknown text encoding {name!r}",
                        "a Python codec name: utf-8, latin-1, cp1252, ...",
                    )
                ]
            )
        return name

    @model_validator(mode="after")
    def _source_fits(self) -> DataConfig:
        problems = []
        if self.source in FILE_SUFFIXES:
            suffixes = FILE_SUFFIXES[self.source]
            if self.path is None:
                problems.append(
                    Problem(
                        "path",
                        f"is required for source {self.source}",
                        f"a file ending in {' '.join(suffixes)}",
                    )
                )
            elif not str(PurePath(self.path)).lower().endswith(suffixes):
                problems.append(
                    Problem(
                        "path",
                        f"{self.path!r} is not a {self.source} file name",
                        f"a file ending in {' '.join(suffixes)}",
                    )
                )
            if self.target is None:
                problems.append(
                    Problem(
                        "target",
                        f"is required for source {self.source}",
                        "the name of the target column",
                    )
                )
        else:
            for key in ("path", "target"):
                if getattr(self, key) is not None:
                    problems.append(
                        Problem(
                            key,
                            f"is only used with source csv or parquet, not {self.source}",
                            "null",
                        )
                    )
        if self.decimal == self.delimiter != ",":
            problems.append(
                Problem(
                    "decimal",
                    f"{self.decimal!r} is also data.delimiter: a number would split into two "
                    "fields",
                    "a decimal mark other than data.delimiter (decimal ',' with delimiter ';')",
                )
            )
        if self.sensitive is not None and self.sensitive == self.target:
            problems.append(
                Problem(
                    "sensitive",
                    "must differ from data.target",
                    "a feature column other than the target",
                )
            )
        if self.source in BUNDLED_TASKS and self.sensitive == BUNDLED_TARGET:
            problems.append(
                Problem(
                    "sensitive",
                    f"{BUNDLED_TARGET!r} is the target column of {self.source}; fairness "
                    "is measured across the groups of a feature",
                    f"a feature column of {self.source}, other than {BUNDLED_TARGET!r}",
                )
            )
        if self.source == "synthetic" and self.sensitive not in (None, SYNTHETIC_GROUP):
            problems.append(
                Problem(
                    "sensitive",
                    f"synthetic data has no column {self.sensitive!r}",
                    f"null or {SYNTHETIC_GROUP!r}",
                )
            )
        if (
            self.source == "synthetic"
            and self.sensitive == SYNTHETIC_GROUP
            and not self.synthetic.sensitive_group
        ):
            problems.append(
                Problem(
                    "synthetic.sensitive_group",
                    f"must be true when data.sensitive is {SYNTHETIC_GROUP!r}",
                    "true",
                )
            )
        problems += self._pii_roles()
        problems += self._drop_problems()
        raise_problems(problems)
        return self

    def _drop_problems(self) -> list[Problem]:
        """data.drop naming a column twice, an empty name, the target or the sensitive column,
        or a column data.pii already says what to do with."""
        problems = []
        twice = sorted(n for n, c in Counter(self.drop).items() if c > 1)
        if twice:
            problems.append(
                Problem("drop", f"lists {', '.join(map(repr, twice))} twice", "each column once")
            )
        empty = [i for i, n in enumerate(self.drop) if not n.strip()]
        if empty:
            problems.append(Problem(f"drop[{empty[0]}]", "is empty", "a column name"))
        allowed = "feature columns (not the target or sensitive column)"
        for role, name in (("target", self.target), ("sensitive", self.sensitive_column)):
            if name is not None and name in self.drop:
                problems.append(Problem(
                    "drop", f"lists the {role} column {name!r}: it cannot be dropped", allowed))
        for key in ("drop", "pseudonymise", "keep"):
            both = sorted(set(self.drop) & set(getattr(self.pii, key)))
            if both:
                problems.append(Problem(
                    "drop", f"{', '.join(map(repr, both))} also listed under data.pii.{key}",
                    "a column under data.drop or data.pii, not both (personal data: data.pii)"))
        return problems

    def _pii_roles(self) -> list[Problem]:
        """The target (csv/parquet) or the sensitive column (synthetic: 'group') under
        data.pii; gdlab.data.privacy checks the same for the columns a source names."""
        problems = []
        for key, allowed in PII_ALLOWED.items():
            if self.target is not None and self.target in getattr(self.pii, key):
                problems.append(
                    Problem(
                        f"pii.{key}",
                        f"lists the target column {self.target!r}: the target cannot be "
                        f"{PII_DONE[key]}",
                        allowed,
                    )
                )
        sensitive = self.sensitive_column
        if sensitive is not None and sensitive in self.pii.drop:
            problems.append(
                Problem(
                    "pii.drop",
                    f"drops the sensitive column {sensitive!r}, which evaluation needs",
                    "pseudonymise it instead (data.pii.pseudonymise)",
                )
            )
        return problems

    @property
    def sensitive_column(self) -> str | None:
        """The sensitive column's name, counting the synthetic group column."""
        if self.source == "synthetic":
            return SYNTHETIC_GROUP if self.synthetic.sensitive_group else None
        return self.sensitive

    def cross_checks(self, params: Params) -> list[Problem]:
        task = params.model.task
        problems = []
        fixed = BUNDLED_TASKS.get(self.source)
        if fixed and fixed != task:
            problems.append(
                Problem(
                    "model.task",
                    f"{task} does not fit data.source {self.source} (a {fixed} data set)",
                    fixed,
                )
            )
        if self.source == "synthetic":
            syn = self.synthetic
            if task == "classification" and syn.noise > 1:
                problems.append(
                    Problem(
                        "data.synthetic.noise",
                        f"{syn.noise} is a label-flip fraction for classification and must be <= 1",
                        "0 to 1 for classification",
                    )
                )
            if task == "classification" and syn.n_classes > 2**syn.n_informative:
                problems.append(
                    Problem(
                        "data.synthetic.n_classes",
                        f"{syn.n_classes} classes "
                        f"need more than {syn.n_informative} informative "
                        "features",
                        f"<= 2**n_informative = {2**syn.n_informative}",
                    )
                )
            n_train = syn.n_samples - math.ceil(syn.n_samples * self.test_size)
            if n_train < params.cv.folds:
                problems.append(
                    Problem(
                        "cv.folds",
                        f"{params.cv.folds} folds need at least as "
                        f"many training rows, the split leaves {n_train}",
                        f"2 to {n_train}",
                    )
                )
        return problems
