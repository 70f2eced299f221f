"""Keeps the gettext catalogues in step with the code: ``make messages`` runs this module.

1. Babel extracts the message keys from every part's Python files with ``extract_keys``: the
   code names messages by key (``ctx.reply("verification.dm.prompt", ...)``,
   ``DomainError("error.no_person", ...)``), not through ``_()`` calls, so the extraction method
   takes every string literal shaped like a key whose first word is a message namespace.
2. A key found in no catalogue is added, untranslated, to the catalogue of the part whose code
   uses it first (its home); ``tests/unit/test_catalogues.py`` fails until both locales have a
   text. Keys the code builds at run time (``f"question.topic.{topic}"``) are not found as
   literals and are kept as they are; nothing is removed automatically.
3. Every locale of a part gets the same keys; a key is plural (``msgid_plural "{count}"``, see
   ``linli.common.i18n``) in every locale once it is plural in one. Babel updates the ``.po``
   files (``Catalog.update``) and compiles the ``.mo`` files the bot reads.

``python -m linli.common.catalogues --add-locale fr`` starts a new language's catalogues from
the keys (every text empty); add the locale to ``linli.common.i18n.Locale`` as well.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from linli.common.i18n import DOMAIN, Locale, catalogue_dir

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["common", "bot", "community", "verification", "broadcasts", "questions", "moderation"]
"""The parts with a catalogue, in the order the Translator merges them."""
CODE_PARTS = [*PARTS, "storage"]

NAMESPACES = ("error", "dm", "cmd", "help", "status", "room", "table", "report", "dash", "cli",
              "verification", "import", "cards", "broadcasts", "question", "moderation", "tokens")
"""First words of message keys; a key-shaped literal starting otherwise is no message."""
NOT_MESSAGES = frozenset({
    # audit actions and artefact names that share a namespace with messages
    "verification.extend", "verification.locked", "verification.person_taken",
    "verification.remove", "verification.revoke", "verification.verify", "cards.html",
    # prefixes of keys built at run time
    "question.topic", "report.enrolment", "table.flag", "table.state",
})
_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\Z")
_CATALOGUE_HEADER = "Messages of Linli, the neighbours' rooms bot"


def extract_keys(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
                 options: Mapping[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extraction method: every plain string literal that reads as a message key."""
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(tok.string)
        except (ValueError, SyntaxError):  # an f-string: a key built at run time
            continue
        if (isinstance(value, str) and _KEY.match(value) and value not in NOT_MESSAGES
                and value.split(".", 1)[0] in NAMESPACES):
            yield tok.start[0], None, value, []


METHOD_MAP = [("**/locale/**", "ignore"), ("**.py", f"{__name__}:extract_keys")]


def extract(root: Path = ROOT) -> dict[str, str]:
    """Every key the code names literally -> the part where it is first used."""
    found: dict[str, str] = {}
    for part in CODE_PARTS:
        for _file, _line, key, _comments, _context in sorted(
                extract_from_dir(str(root / part), METHOD_MAP)):
            found.setdefault(key, part if part in PARTS else "bot")
    return found


def po_path(root: Path, part: str, locale: str) -> Path:
    path: Path = root / part / "locale" / catalogue_dir(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    return path


def new_catalogue(locale: str) -> Catalog:
    return Catalog(locale=catalogue_dir(locale), domain=DOMAIN, project="linli", version="0.1",
                   header_comment=f"# {_CATALOGUE_HEADER} ({locale}).", fuzzy=False,
                   msgid_bugs_address="", last_translator="", language_team="")


def read_catalogue(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return new_catalogue(locale)
    with path.open("rb") as f:
        return read_po(f, locale=catalogue_dir(locale), domain=DOMAIN)


def write_catalogue(catalog: Catalog, po: Path) -> None:
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as f:
        write_po(f, catalog, width=99, no_location=True, ignore_obsolete=True)
    with po.with_suffix(".mo").open("wb") as f:
        write_mo(f, catalog)


def compiled(po: Path, locale: str) -> bytes:
    """The ``.mo`` bytes a ``.po`` compiles to (for the test that they are up to date)."""
    out = io.BytesIO()
    write_mo(out, read_catalogue(po, locale))
    return out.getvalue()


def update(root: Path = ROOT, locales: list[str] | None = None) -> list[str]:
    """Extract, update every part's ``.po`` files and compile them; returns what was added."""
    locales = locales or [loc.value for loc in Locale]
    catalogs = {part: {loc: read_catalogue(po_path(root, part, loc), loc) for loc in locales}
                for part in PARTS}
    owned = {m.id if isinstance(m.id, str) else m.id[0]: part
             for part, by_loc in catalogs.items() for cat in by_loc.values() for m in cat if m.id}
    added = []
    for key, part in extract(root).items():
        if key not in owned:
            owned[key] = part
            added.append(f"{part}: {key}")
    for part, by_loc in catalogs.items():
        template = Catalog(domain=DOMAIN, fuzzy=False)
        ids: dict[str, str | tuple[str, str]] = {}
        for cat in by_loc.values():  # keys in the order translators already know them
            for m in cat:
                if m.id:
                    key = m.id if isinstance(m.id, str) else m.id[0]
                    if isinstance(m.id, tuple | list) or key not in ids:
                        ids[key] = m.id if isinstance(m.id, str) else (m.id[0], m.id[1])
        for key in sorted(k for k, p in owned.items() if p == part and k not in ids):
            ids[key] = key
        for msgid in ids.values():
            template.add(msgid)
        for loc, cat in by_loc.items():
            cat.update(template, no_fuzzy_matching=True, update_header_comment=False,
                       update_creation_date=False)
            for m in cat:
                m.flags.discard("fuzzy")  # a singular turned plural keeps its text as form one
            write_catalogue(cat, po_path(root, part, loc))
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linli.common.catalogues",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--add-locale", metavar="LANG", help="start catalogues for LANG")
    args = parser.parse_args(argv)
    locales = [loc.value for loc in Locale]
    if args.add_locale and args.add_locale not in locales:
        locales.append(args.add_locale)
    added = update(ROOT, locales)
    for line in added:
        print(f"new key, translate it: {line}")
    print(f"catalogues of {', '.join(PARTS)} updated and compiled for {', '.join(locales)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
