"""docs/acceptance.md cannot go stale: every ``tests/...py::name`` it cites names a test
function (or ``Class::method``) defined in that file, and every ``bench/*.py`` it cites exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "acceptance.md"
TEST_ID = re.compile(r"tests/[\w/]+\.py(?:::\w+)+")
BENCH = re.compile(r"(?<![\w/])bench/\w+\.py")


def defined_tests(path: Path) -> set[str]:
    """``name`` for every module-level test function, ``Class::method`` for test methods."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name.startswith("test")
            )
    return names


def stale_ids(text: str, root: Path) -> list[str]:
    stale = []
    for test_id in sorted(set(TEST_ID.findall(text))):
        file, name = test_id.split("::", 1)
        path = root / file
        if not path.is_file() or name not in defined_tests(path):
            stale.append(test_id)
    return stale


def test_every_cited_test_exists():
    text = DOC.read_text(encoding="utf-8")
    ids = set(TEST_ID.findall(text))
    assert len(ids) > 100, "the map cites far fewer tests than expected: is the pattern right?"
    assert stale_ids(text, REPO) == []


def test_every_cited_benchmark_exists():
    cited = set(BENCH.findall(DOC.read_text(encoding="utf-8")))
    assert cited
    assert sorted(p for p in cited if not (REPO / p).is_file()) == []


def test_a_renamed_or_moved_test_is_reported(tmp_path):
    (tmp_path / "tests" / "core").mkdir(parents=True)
    (tmp_path / "tests" / "core" / "test_x.py").write_text(
        "def test_a():\n    pass\n\n\nclass TestB:\n    def test_c(self):\n        pass\n\n\n"
        "def helper():\n    pass\n"
    )
    text = (
        "`tests/core/test_x.py::test_a`, `tests/core/test_x.py::TestB::test_c`, "
        "`tests/core/test_x.py::test_gone`, `tests/core/test_x.py::helper`, "
        "`tests/core/test_y.py::test_a`"
    )
    assert stale_ids(text, tmp_path) == [
        "tests/core/test_x.py::helper",
        "tests/core/test_x.py::test_gone",
        "tests/core/test_y.py::test_a",
    ]
