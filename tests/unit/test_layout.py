"""The architecture, checked: domain packages never import the Matrix client, the web server or
the scheduler; only bot/ does."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ["common", "community", "verification", "broadcasts", "questions", "moderation",
          "enrolment"]
FORBIDDEN = {"nio", "aiohttp", "apscheduler", "bot", "playwright"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(part_of(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "linli":  # from linli import verification
                names.update(part_of(f"linli.{a.name}") for a in node.names)
            else:
                names.add(part_of(node.module))
    return names


def part_of(module: str) -> str:
    """The part a module belongs to: ``linli.bot.cli`` -> ``bot``; ``nio.api`` -> ``nio``."""
    pieces = module.split(".")
    return pieces[1] if pieces[0] == "linli" and len(pieces) > 1 else pieces[0]


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


PARTS = ["bot", "common", "community", "storage", "verification", "broadcasts", "questions",
         "moderation", "enrolment"]


def test_the_parts_are_imported_by_their_one_namespace() -> None:
    """``from bot.x import`` works from the repository root but not once installed: every import
    of a part goes through ``linli.``."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if {".venv", "build"} & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom)
                       and node.module and node.level == 0 else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {m}" for m in modules
                          if m.split(".")[0] in PARTS]
    assert offenders == []


# Domain packages that already reach storage only through their ports (Protocols).
WITHOUT_STORAGE = ["enrolment"]


def test_domain_packages_reach_storage_through_ports() -> None:
    offenders = []
    for package in WITHOUT_STORAGE:
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = imports_of(path) & {"storage", "sqlalchemy"}
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []
