"""The architecture, checked: domain packages never import the Matrix client, the web server or
the scheduler; only bot/ does."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ["common", "community", "verification", "broadcasts", "questions", "moderation"]
FORBIDDEN = {"nio", "aiohttp", "apscheduler", "bot", "playwright"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_packages_know_nothing_of_matrix_web_or_scheduler() -> None:
    offenders = []
    for package in DOMAIN:
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = imports_of(path) & FORBIDDEN
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_storage_does_not_import_the_edge() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "storage").rglob("*.py")
        if imports_of(p) & {"nio", "aiohttp", "bot"}
    ]
    assert offenders == []
