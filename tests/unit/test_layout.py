"""The architecture, checked: domain packages never import the Matrix client, the web server,
the scheduler or storage; only bot/ does."""

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


STORAGE = {"storage", "sqlalchemy"}


def test_domain_packages_know_nothing_of_storage() -> None:
    """The domain declares what it needs as ports (Protocols); storage implements them and
    the edge wires the two together."""
    offenders = []
    for package in DOMAIN:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            bad = imports_of(path) & STORAGE
            if bad:
                offenders.append(f"{name} imports {sorted(bad)}")
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


MODULE_BY_NAME = {"files", "import_module", "__import__", "getLogger", "find_spec"}


def test_modules_named_in_strings_go_through_the_namespace_too() -> None:
    """``resources.files("questions")`` works from the checkout and fails once installed."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if {".venv", "build"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            is_modules_get = (isinstance(func, ast.Attribute) and func.attr == "get"
                              and isinstance(func.value, ast.Attribute)
                              and func.value.attr == "modules")
            if name not in MODULE_BY_NAME and not is_modules_get:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {arg.value}" for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                and arg.value.split(".")[0] in PARTS
            ]
    assert offenders == []
