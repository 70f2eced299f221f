"""The distribution installs one name, ``linli``, and every module of the repository's parts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.unit.test_layout import PARTS, ROOT


def test_the_wheel_installs_only_linli_and_every_module(tmp_path: Path) -> None:
    source = tmp_path / "source"  # setuptools builds in the source tree: a copy, not the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", "demo-data", "node_modules"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("linli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"linli"}
    expected = {f"linli/{p.relative_to(ROOT).as_posix()}" for part in PARTS
                for p in (ROOT / part).rglob("*.py") if "__pycache__" not in p.parts}
    assert expected - set(names) == set()
    assert "linli/questions/data/model.json" in names
    assert "linli/storage/migrations/env.py" in names
    assert "linli/bot/web/static/dashboard.css" in names
    catalogues = {f"linli/{p.relative_to(ROOT).as_posix()}" for part in PARTS
                  for p in (ROOT / part).glob("locale/*/LC_MESSAGES/linli.mo")}
    assert len(catalogues) >= 14  # seven parts speak to people, in zh_CN and en
    assert catalogues - set(names) == set()
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "linli = linli.bot.cli:main" in entry
