"""Who may import whom (shared/DESIGN.md), read from the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> what it must not import (top-level names)
FORBIDDEN = {
    "core": {
        "store",
        "auth",
        "services",
        "server",
        "ocr_stubs",
        "mock_gateway",
        "sanic",
        "sanic_ext",
        "tortoise",
        "redis",
        "asyncpg",
    },
    "store": {"auth", "services", "server", "ocr_stubs", "mock_gateway", "sanic", "sanic_ext"},
    "auth": {"services", "server", "mock_gateway", "sanic", "sanic_ext"},
    "services": {"auth", "server", "mock_gateway", "sanic", "sanic_ext"},
    "ocr_stubs": {"auth", "services", "server", "mock_gateway", "sanic", "sanic_ext"},
    "server": {"mock_gateway"},
    "mock_gateway": {"core", "store", "auth", "services", "server", "ocr_stubs"},
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_the_design_allows(package):
    breaches = {
        str(path.relative_to(ROOT)): sorted(imported(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if imported(path) & FORBIDDEN[package]
    }
    assert breaches == {}
