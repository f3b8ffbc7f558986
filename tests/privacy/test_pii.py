"""Issue 6, point 5: personal data.

``data.pii`` columns are dropped or pseudonymised with HMAC-SHA256 (the key from the
environment variable named by ``data.pii.key_env``, never written anywhere); undeclared columns
that look like e-mail addresses or phone numbers are refused by prepare (and by validate, which
dry-runs it); the sensitive attribute stays out of the features but reaches evaluation.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pandas as pd
import pytest

from gdlab.config import ConfigError, validate_params
from gdlab.config.sections.privacy import PiiConfig
from gdlab.data import DataError
from gdlab.data.privacy import apply_pii, find_personal_data, protect_personal_data
from gdlab.data.table import RawTable
from gdlab.experiment.persist import load_model
from tests.reliability.harness import assert_succeeded, make_project

KEY = "k3y-0f-the-lab-kept-outside-git"
NAMES = ["Alice Smith", "Bob Jones", "Chen Wei", "Dana Cruz", "Emeka Obi", "Fatima Khan"]


def people_csv(n: int = 60) -> str:
    lines = ["customer_id,name,email,phone,gender,x1,x2,y"]
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        email = f"{name.split()[0].lower()}{i}@example.com"
        phone = f"+44 20 7946 {1000 + i:04d}"
        features = f"{(i * 7) % 11 - 5},{i % 5},{(i // 2) % 2}"
        lines.append(f"C{i:05d},{name},{email},{phone},{'fm'[i % 2]},{features}")
    return "\n".join(lines) + "\n"


PII = {"drop": ["customer_id", "name", "email", "phone"], "pseudonymise": ["gender"]}


def token(value: str, key: str = KEY) -> str:
    """The documented token, computed here: the first 16 hex digits (64 bits) of
    HMAC-SHA256(key, value) over their UTF-8 bytes."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def csv_params(pii: dict) -> dict:
    return {
        "data": {
            "source": "csv",
            "path": "raw/people.csv",
            "target": "y",
            "sensitive": "gender",
            "pii": pii,
        },
        "register": {"model_name": "gdlab-privacy"},
    }


@pytest.fixture
def project(tmp_path):
    def make(pii: dict):
        project = make_project(tmp_path / "p", csv_params(pii))
        (project.root / "raw").mkdir(exist_ok=True)
        (project.root / "raw" / "people.csv").write_text(people_csv())
        return project

    return make


def test_undeclared_email_column_is_refused_without_echoing_it(project):
    p = project({"drop": ["customer_id", "name", "phone"], "pseudonymise": ["gender"]})
    result = p.stage("validate", env={"GDLAB_PII_KEY": KEY})
    assert result.code == 1
    assert "data.pii: column 'email'" in result.err and "e-mail addresses" in result.err
    assert "row 0 (file line 2)" in result.err and "data.pii.drop" in result.err
    assert "if it is not personal data (product codes, ticket numbers), list it under " \
        "data.pii.keep" in result.err
    assert "@example.com" not in result.err


def test_undeclared_phone_column_is_refused(project):
    p = project({"drop": ["customer_id", "name", "email"], "pseudonymise": ["gender"]})
    result = p.stage("validate", env={"GDLAB_PII_KEY": KEY})
    assert result.code == 1
    assert "column 'phone'" in result.err and "phone numbers" in result.err
    assert "7946" not in result.err


def test_prepare_refuses_it_too(project):
    p = project({"drop": ["customer_id", "name", "phone"], "pseudonymise": ["gender"]})
    result = p.stage("prepare", env={"GDLAB_PII_KEY": KEY})
    assert result.code == 1 and "column 'email'" in result.err
    assert not (p.root / "data" / "prepared").exists()


DIGIT_PHONES = {
    # phone numbers written as plain digits: pandas reads the column as whole numbers
    "plus": (lambda i: f"+4477009{i:05d}", 0),
    "zero": (lambda i: f"077009{i:05d}", 0),
    "plus_shared": (lambda i: f"+4477009{i // 2:05d}", 0),  # two rows per number
    "zero_shared": (lambda i: f"077009{i // 2:05d}", 0),
    "zero_one_missing": (lambda i: f"077009{i:05d}" if i else "", 1),  # read as floats
    "international_00": (lambda i: f"004477009{i:05d}", 0),
}


def digits_csv(columns: dict, n: int = 60) -> str:
    """A file of ``columns`` (name -> value of row i) besides gender, x1, x2 and y."""
    lines = [",".join([*columns, "gender", "x1", "x2", "y"])]
    for i in range(n):
        values = [value(i) for value in columns.values()]
        lines.append(",".join([*values, "fm"[i % 2], f"{(i * 7) % 11 - 5}", f"{i % 5}",
                               f"{(i // 2) % 2}"]))
    return "\n".join(lines) + "\n"


@pytest.fixture
def digits_project(tmp_path):
    def make(columns: dict):
        project = make_project(tmp_path / "p", csv_params({"pseudonymise": ["gender"]}))
        (project.root / "raw").mkdir(exist_ok=True)
        (project.root / "raw" / "people.csv").write_text(digits_csv(columns))
        return project

    return make


@pytest.mark.parametrize("stage", ["validate", "prepare"])
@pytest.mark.parametrize("form", list(DIGIT_PHONES))
def test_phone_numbers_written_as_plain_digits_are_refused(digits_project, form, stage):
    """+447700900123 and 07700900123 are read by pandas as whole numbers, which the scan did
    not look at: validate/prepare only warned of "an identifier?" (or nothing when two rows
    shared a number), the column became a feature and the logged model's input example held
    a real number. Now the scan reads the file's text and refuses it like +44 7700 900123."""
    phone_of, row = DIGIT_PHONES[form]
    p = digits_project({"phone": phone_of})
    result = p.stage(stage, env={"GDLAB_PII_KEY": KEY})
    assert result.code == 1, result.err
    assert "data.pii: column 'phone' of file 'raw/people.csv' looks like phone numbers " \
        f"(row {row} (file line {row + 2}))" in result.err
    assert "7700" not in result.err  # the value is never echoed
    assert not (p.root / "data" / "prepared").exists()


NOT_PHONES = {
    "customer_id": lambda i: f"{100001 + i}",  # distinct whole numbers: an identifier
    "account": lambda i: f"{4000000000 + 7919 * i}",  # 10 digits, like a national number
    "visits": lambda i: f"{i % 7}",
    "signup_epoch": lambda i: f"{1700000000 + 3600 * i}",  # Unix seconds: 10 digits
    "signup_ms": lambda i: f"{1700000000000 + 3600000 * i}",  # 13 digits
    "amount": lambda i: f"{1234567.89 + i:.2f}",
    "ratio": lambda i: f"0.{123456789 + i}",  # a leading 0, but a decimal
    "delta": lambda i: f"-{77009000 + i}",
}


def test_ids_counts_timestamps_and_amounts_are_not_phone_numbers(digits_project):
    """Numbers without a leading '+' or '0' (IDs, counts, epoch timestamps, amounts), and
    decimals, are read as the numbers they are: validate passes."""
    p = digits_project(NOT_PHONES)
    result = p.stage("validate", env={"GDLAB_PII_KEY": KEY})
    assert result.code == 0, result.err
    assert "phone numbers" not in result.err + result.out
    path = p.root / "raw" / "people.csv"
    frame = pd.read_csv(path)
    assert all(pd.api.types.is_numeric_dtype(frame[name]) for name in NOT_PHONES)
    assert find_personal_data(frame, set(), pd.read_csv(path, dtype=str)) == []


def test_dates_amounts_and_codes_are_not_personal_data():
    frame = pd.DataFrame(
        {
            "day": ["2024-01-05", "2024-02-11", "2023-12-31"],
            "amount": ["1,234.50", "99.00", "12.5"],
            "sku": ["AB-1234", "CD-99", "EF-7"],
            "count": [1, 2, 3],
            "ratio": ["0.5", "0.25", "1e-3"],
        }
    )
    assert find_personal_data(frame, set()) == []
    frame["contact"] = ["write to x.y@example.org", None, "n/a"]
    assert find_personal_data(frame, set()) == [("contact", "e-mail addresses", 0)]
    assert find_personal_data(frame, {"contact"}) == []


def test_dates_in_other_formats_and_ip_addresses_are_not_phone_numbers():
    """Day/month dates (05/01/2024, 5.1.24) and IPv4 addresses have a phone number's digits
    and separators: such a column was refused as "phone numbers", with advice to drop it."""
    frame = pd.DataFrame(
        {
            "day_slash": ["05/01/2024", "17/02/2023", "3/4/2022"],
            "day_dots": ["05.01.2024", "17.02.23", "3.4.2022"],
            "us_dash": ["01-05-2024", "02-17-2023", "12-31-2022"],
            "ymd_slash": ["2024/01/05 10:00", "2023/02/17", "2022/12/31"],
            "host": ["192.168.1.10", "10.0.0.1", "127.0.0.1"],
        }
    )
    assert find_personal_data(frame, set()) == []
    phones = pd.DataFrame(
        {
            "fr": ["01.23.45.67.89", "06 12 34 56 78", "+33 1 23 45 67 89"],
            # four dotted groups like an IPv4 address's, but no address (octet > 255 or a
            # leading zero), and a date-shaped start followed by more digits, not a time
            "ch": ["079.123.45.67", "044.668.18.00", "06.123.456.78"],
            "date_like": ["12.34.56 78 90", "11.22.33 44 55", "01.02.03 04 05"],
            "us": ["555.123.4567", "(555) 987-6543", "555-123-4567"],
            "uk": ["07700 900123", "+44 20 7946 0000", "020 7946 0001"],
        }
    )
    assert find_personal_data(phones, set()) == [
        (name, "phone numbers", 0) for name in ("fr", "ch", "date_like", "us", "uk")
    ]


def test_isbns_and_zip4_codes_are_not_phone_numbers():
    """Hyphenated or spaced ISBNs (978-3-16-148410-0, 0-306-40615-2) and US ZIP+4 codes
    (12345-6789) have a phone number's digits and separators: such a column was refused as
    "phone numbers". ISBNs are told apart by their check digit, ZIP+4 by its 5-4 shape."""
    frame = pd.DataFrame(
        {
            # published ISBNs (the ISBN standard's and Wikipedia's worked examples)
            "isbn13": ["978-3-16-148410-0", "978-0-306-40615-7", "978 1 86197 876 9"],
            "isbn13_amazon": ["978-0306406157", "9783161484100", "978-1861978769"],
            "isbn10": ["0-306-40615-2", "3-16-148410-X", "0 8044 2957 X"],
            "isbn10_plain": ["0306406152", "316148410X", "080442957X"],
            "zip4": ["12345-6789", "02134-1234", "90210-3456"],
        }
    )
    assert find_personal_data(frame, set()) == []
    # narrowly: a wrong check digit, another prefix (977, check digit right), another shape
    # are still phone-like
    lookalikes = pd.DataFrame(
        {
            "bad_check13": ["978-3-16-148410-1", "978-0-306-40615-2", "978 1 86197 876 0"],
            "prefix_977": ["977-3-16-148410-1", "977-0-306-40615-8", "977 1 86197 876 0"],
            "bad_check10": ["0-306-40615-3", "3-16-148410-1", "0 8044 2957 2"],
            "zip_5_5": ["12345-67890", "02134-12345", "90210-34567"],
            "zip_4_5": ["1234-56789", "0213-41234", "9021-03456"],
        }
    )
    assert find_personal_data(lookalikes, set()) == [
        (name, "phone numbers", 0) for name in lookalikes.columns
    ]


PHONES = [
    "+44 20 7946 0958",
    "(555) 123-4567",
    "06 12 34 56 78",
    "+1-202-555-0143",
    "030 12345678",
    "+49 30 12345678",
    "03-1234-5678",
    "+91 98765 43210",
    "(02) 9876 5432",
    "+55 11 91234-5678",
    "0049 30 1234567",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_in_national_formats_are_still_refused(phone):
    frame = pd.DataFrame({"contact": [phone, phone, None], "x": [1, 2, 3]})
    assert find_personal_data(frame, set()) == [("contact", "phone numbers", 0)]


def isbn10_ok(digits: str) -> bool:
    """The ISBN-10 rule as ISO 2108 states it: sum of digit x weight 10..1 divisible by 11."""
    return sum(int(d) * w for d, w in zip(digits, range(10, 0, -1), strict=True)) % 11 == 0


def isbn13_ok(digits: str) -> bool:
    """The ISBN-13 (EAN-13) rule: digits weighted 1, 3, 1, 3, ...; total divisible by 10."""
    return digits[:3] in ("978", "979") and sum(
        int(d) * (1, 3)[i % 2] for i, d in enumerate(digits)
    ) % 10 == 0


@pytest.mark.parametrize(
    ("shape", "passes"),
    [
        ("{0}{1}{2}-{3}{4}{5}-{6}{7}{8}{9}", isbn10_ok),  # US 555-123-4567
        ("0{1} {2}{3} {4}{5} {6}{7} {8}{9}", isbn10_ok),  # French 06 12 34 56 78
        ("{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}", isbn10_ok),  # 10 digits, no separator
        ("978 {0}{1}{2}{3} {4}{5}{6}{7}{8}{9}", isbn13_ok),  # worst case: 13 digits from 978
    ],
)
def test_a_column_of_random_phone_numbers_stays_refused_despite_chance_isbns(shape, passes):
    """A phone number of 10 digits passes the ISBN-10 check by chance about 1 time in 11 (the
    sum mod 11 must be 0; the last digit can reach 10 of the 11 residues), one of 13 digits
    starting 978 the ISBN-13 check 1 time in 10: those values are not counted as phones, but
    the other ~90 % are, far above PHONE_SHARE, so the column is still refused."""
    rng = np.random.default_rng(20240105)
    phones = [shape.format(*map(str, rng.integers(0, 10, 10))) for _ in range(200)]
    chance = [p for p in phones if passes("".join(ch for ch in p if ch.isdigit()))]
    assert 5 <= len(chance) <= 40  # the collision is real (expected ~18 or 20 of 200)
    from gdlab.data.privacy import PHONE_SHARE, _looks_like_phone

    assert not [p for p in chance if _looks_like_phone(p)]
    assert all(_looks_like_phone(p) for p in phones if p not in chance)
    assert (len(phones) - len(chance)) / len(phones) >= PHONE_SHARE + 0.3
    first = next(i for i, p in enumerate(phones) if p not in chance)
    frame = pd.DataFrame({"phone": phones})
    assert find_personal_data(frame, set()) == [("phone", "phone numbers", first)]


def tickets_table() -> RawTable:
    frame = pd.DataFrame(
        {
            "ticket": ["555-123-4567", "555-987-6543", "555-000-1111"],  # phone-shaped codes
            "sku": ["ab@x.io", "cd@y.io", None],  # e-mail-shaped product codes
            "x": [1.0, 2.0, 3.0],
            "y": [0, 1, 0],
        }
    )
    return RawTable(frame, "y", "csv", path="f.csv", first_line=2)


def test_a_column_listed_under_keep_is_not_refused_and_kept_unchanged():
    """A column that only looks like personal data (ticket numbers, product codes) could only
    be dropped or pseudonymised (which needs a secret key); data.pii.keep keeps it as it is."""
    table = tickets_table()
    with pytest.raises(DataError, match=r"column 'ticket' .* looks like phone numbers"):
        protect_personal_data(table, PiiConfig(keep=["sku"]), {})
    with pytest.raises(DataError, match=r"column 'sku' .* looks like e-mail addresses"):
        protect_personal_data(table, PiiConfig(keep=["ticket"]), {})
    cfg = validate_params(
        {"data": {**csv_params({"keep": ["ticket", "sku"]})["data"], "sensitive": None}}
    ).data.pii
    out = protect_personal_data(table, cfg, {})  # no key needed
    pd.testing.assert_frame_equal(out.frame, table.frame)
    out = protect_personal_data(table, PiiConfig(keep=["ticket"], drop=["sku"]), {})
    assert list(out.frame.columns) == ["ticket", "x", "y"]
    assert out.frame["ticket"].tolist() == table.frame["ticket"].tolist()


def test_a_kept_column_missing_from_the_data_is_named_like_a_declared_one():
    with pytest.raises(DataError) as info:
        protect_personal_data(tickets_table(), PiiConfig(keep=["ticket", "skus"]), {})
    assert str(info.value) == (
        "data.pii.keep[1]: column 'skus' not found in file 'f.csv'; did you mean 'sku'?"
    )


def test_missing_key_is_a_clear_error_naming_the_variable(project):
    p = project(PII)
    result = p.stage("validate", env={"GDLAB_PII_KEY": ""})
    assert result.code == 1
    assert "data.pii.key_env" in result.err and "GDLAB_PII_KEY is not set" in result.err
    assert "'gender'" in result.err


def test_short_key_is_refused(project):
    result = project(PII).stage("validate", env={"GDLAB_PII_KEY": "short"})
    assert result.code == 1 and "at least 16" in result.err


def test_declared_column_missing_from_the_file_is_named(project):
    pii = {**PII, "drop": ["customer_id", "name", "emial", "phone"]}
    result = project(pii).stage("validate", env={"GDLAB_PII_KEY": KEY})
    assert result.code == 1
    assert "data.pii.drop[2]: column 'emial' not found" in result.err
    assert "did you mean 'email'" in result.err


def test_pii_rules_in_the_schema():
    base = csv_params(PII)["data"]
    with pytest.raises(ConfigError, match=r"data\.pii\.drop: lists the target column 'y'"):
        validate_params({"data": {**base, "pii": {"drop": ["y"]}}})
    with pytest.raises(ConfigError, match=r"data\.pii\.drop: drops the sensitive column"):
        validate_params({"data": {**base, "pii": {"drop": ["gender"]}}})
    with pytest.raises(ConfigError) as info:
        validate_params({"data": {**base, "pii": {"pseudonymise": ["y"]}}})
    assert "  data.pii.pseudonymise: lists the target column 'y': the target cannot be " \
        "pseudonymised (allowed: feature or sensitive columns only)" in str(info.value)
    with pytest.raises(ConfigError, match=r"data\.pii\.pseudonymise: 'x1' also listed"):
        validate_params({"data": {**base, "pii": {"drop": ["x1"], "pseudonymise": ["x1"]}}})
    with pytest.raises(ConfigError, match=r"data\.pii\.key_env"):
        validate_params({"data": {**base, "pii": {"key_env": "not a name!"}}})


def test_synthetic_group_column_cannot_be_dropped_in_the_schema():
    # data.sensitive is null, but synthetic data's sensitive column is 'group': dropped, it
    # was reported by validate as "data.sensitive: column 'group' not found"
    def data(sensitive_group: bool) -> dict:
        return {"synthetic": {"sensitive_group": sensitive_group}, "pii": {"drop": ["group"]}}

    with pytest.raises(ConfigError) as info:
        validate_params({"data": data(True)})
    assert [p.path for p in info.value.problems] == ["data.pii.drop"]
    assert "drops the sensitive column 'group', which evaluation needs" in str(info.value)
    validate_params({"data": data(False)})  # no such column: prepare reports it as not found


@pytest.mark.parametrize(
    ("pii", "message"),
    [
        ({"drop": ["x", "y"]}, "data.pii.drop[1]: 'y' is the target column of data set "
         "'synthetic': the target cannot be dropped (allowed: feature columns only)"),
        ({"pseudonymise": ["y"]}, "data.pii.pseudonymise[0]: 'y' is the target column of data set "
         "'synthetic': the target cannot be pseudonymised (allowed: feature or sensitive columns "
         "only)"),
        ({"drop": ["g"]}, "data.pii.drop[0]: 'g' is the sensitive column of data set 'synthetic', "
         "which evaluation needs: it cannot be dropped (allowed: feature columns only; "
         "pseudonymise it instead: data.pii.pseudonymise)"),
    ],
)
@pytest.mark.parametrize("protect", [apply_pii, protect_personal_data])
def test_the_target_or_sensitive_column_a_source_names_is_refused_under_pii(pii, message, protect):
    # data.target is only set for csv/parquet, so the schema cannot see the synthetic 'y' or a
    # bundled set's 'target': dropped, it was reported as "data.target: column 'y' not found"
    frame = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"], "y": [0, 1]})
    table = RawTable(frame, "y", "synthetic", sensitive="g")
    with pytest.raises(DataError) as info:
        protect(table, PiiConfig(**pii), {"GDLAB_PII_KEY": KEY})
    assert str(info.value) == message
    assert protect(table, PiiConfig(pseudonymise=["g"]), {"GDLAB_PII_KEY": KEY}).frame[
        "g"
    ].tolist() == [token("a"), token("b")]


def test_tokens_are_keyed_hmac():
    table = RawTable(pd.DataFrame({"g": ["f", "m", "f", None], "y": [0, 1, 0, 1]}), "y", "csv")
    cfg = validate_params(
        {"data": {**csv_params({"pseudonymise": ["g"]})["data"], "sensitive": "g"}}
    ).data.pii
    out = apply_pii(table, cfg, {"GDLAB_PII_KEY": KEY}).frame["g"]
    assert out[0] == out[2] != out[1] and out[3] is None  # groups survive, missing stays missing
    assert out[0] == token("f") and out[1] == token("m")
    assert out[0] != hashlib.sha256(b"f").hexdigest()[:16]  # not a plain (guessable) hash
    other = apply_pii(table, cfg, {"GDLAB_PII_KEY": KEY[::-1]}).frame["g"]
    assert other[0] == token("f", KEY[::-1]) != out[0]


def test_pipeline_drops_and_pseudonymises_and_never_stores_the_key(project):
    p = project(PII)
    assert_succeeded(p.repro(env={"GDLAB_PII_KEY": KEY}))
    meta = json.loads((p.root / "data/prepared/meta.json").read_text())
    assert meta["feature_names"] == ["x1", "x2"]
    train = pd.read_parquet(p.root / "data/prepared/train.parquet")
    assert set(train.columns) == {"x1", "x2", "target", "sensitive"}
    tokens = {token("f"), token("m")}
    assert set(train["sensitive"]) == tokens

    raw = (p.root / "raw" / "people.csv").read_text()
    secrets = [KEY, "Alice Smith", "alice0@example.com", "+44 20 7946 1000", "C00000"]
    assert all(s in raw for s in secrets[1:])
    for path in p.root.rglob("*"):
        if path.is_file() and path.parent.name != "raw":
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} found in {path}"

    (run,) = [r for r in p.client().search_runs(["1"]) if r.data.tags.get("gdlab.stage")
              and "mlflow.parentRunId" not in r.data.tags]
    assert run.data.params["data.pii.key_env"] == "GDLAB_PII_KEY"
    fairness = json.loads((p.root / "reports/fairness.json").read_text())
    assert set(fairness["group_sizes"]) == tokens  # evaluation still sees the groups
    card = (p.root / "reports/model_card.md").read_text()
    assert "pseudonymised with HMAC-SHA256" in card and "`gender`" in card


def test_sensitive_attribute_out_of_the_features_but_in_evaluation(baseline):
    meta = json.loads((baseline.root / "data/prepared/meta.json").read_text())
    assert meta["sensitive"] == "group" and "group" not in meta["feature_names"]
    model = load_model(baseline.root / "models/model.skops")
    assert list(model.feature_names_in_) == meta["feature_names"]
    client = baseline.client()
    version = client.get_model_version_by_alias("gdlab-rel", "champion")
    import mlflow

    with baseline.inside():
        mlflow.set_tracking_uri(baseline.store)
        signature = mlflow.models.get_model_info(version.source).signature
    assert "group" not in signature.inputs.input_names()
    fairness = json.loads((baseline.root / "reports/fairness.json").read_text())
    assert fairness["sensitive"] == "group" and set(fairness["group_sizes"]) == {"0", "1"}


def test_undeclared_pii_in_a_data_error_never_shows_the_value():
    frame = pd.DataFrame({"who": ["ann@example.com"] * 3, "y": [0, 1, 0]})
    table = RawTable(frame, "y", "csv", path="f.csv", first_line=2)
    from gdlab.data.privacy import refuse_personal_data

    cfg = validate_params({}).data.pii
    with pytest.raises(DataError) as info:
        refuse_personal_data(table, cfg)
    assert "ann@example.com" not in str(info.value) and "'who'" in str(info.value)


def test_the_logged_model_carries_no_training_row(baseline):
    """The MLflow model's input example (``input_example.json``, and the request body
    ``serving_input_example.json`` that the README tells people to download) travels with the
    registered model to wherever it is served: it must not be the first rows of the training
    data (before, ``X_train[:5]``: the first records of the user's file)."""
    import mlflow

    train = pd.read_parquet(baseline.root / "data/prepared/train.parquet")
    meta = json.loads((baseline.root / "data/prepared/meta.json").read_text())
    rows = {tuple(row) for row in train[meta["feature_names"]].to_numpy().tolist()}
    version = baseline.client().get_model_version_by_alias("gdlab-rel", "champion")
    with baseline.inside():
        mlflow.set_tracking_uri(baseline.store)
        local = mlflow.artifacts.download_artifacts(version.source)
        example = mlflow.models.Model.load(local).load_input_example(local)
    assert list(example.columns) == meta["feature_names"]
    assert len(example) >= 1 and np.isfinite(example.to_numpy()).all()
    assert not [r for r in example.to_numpy().tolist() if tuple(r) in rows]


def test_input_example_is_each_features_quartiles():
    from gdlab.experiment import input_example

    X = np.array([[1.0, np.nan, 5.0, 0.0], [2.0, np.nan, np.nan, 0.0], [3.0, np.nan, 7.0, 1.0],
                  [4.0, np.nan, 9.0, 1.0], [5.0, np.nan, 11.0, 1.0], [6.0, np.nan, 13.0, 0.0]])
    example = input_example(X, ["a", "b", "c", "city=x"])
    assert list(example.columns) == ["a", "b", "c", "city=x"]
    # the nearest value each column holds (a one-hot column stays 0/1); NaN left out; none: 0
    # (6 values: positions 1.25, 2.5, 3.75 of the sorted column -> 1, 2, 4; 5 values: 1, 2, 3)
    expected = [[2.0, 0.0, 7.0, 0.0], [3.0, 0.0, 9.0, 0.0], [5.0, 0.0, 11.0, 1.0]]
    np.testing.assert_array_equal(example.to_numpy(), expected)
