"""docs/reliability.md and the tests agree: every test it names exists, and every test of the
fault suite and of the bad-input matrix is named there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
MUST_BE_NAMED = [
    *sorted((ROOT / "tests" / "faults").glob("test_*.py")),
    ROOT / "tests" / "api" / "test_bad_input_matrix.py",
]
CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def functions_named_test_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def cited() -> set[tuple[str, str]]:
    return set(CITED.findall(DOC.read_text()))


def test_every_test_the_document_names_exists():
    missing = [
        f"{path}::{name}"
        for path, name in sorted(cited())
        if not (ROOT / path).is_file() or name not in functions_named_test_in(ROOT / path)
    ]
    assert missing == []


def test_every_fault_and_bad_input_test_is_in_the_document():
    named = cited()
    absent = [
        f"{path.relative_to(ROOT)}::{name}"
        for path in MUST_BE_NAMED
        for name in sorted(functions_named_test_in(path))
        if (str(path.relative_to(ROOT)), name) not in named
    ]
    assert absent == []


def test_every_row_of_every_table_names_a_test():
    rows = [
        line
        for line in DOC.read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| What")
    ]
    assert rows, "the document has its tables"
    assert [row for row in rows if not CITED.search(row)] == []
