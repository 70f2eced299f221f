"""The gettext catalogues: complete in every locale, compiled, in step with the code, with
plural forms where a message counts."""

from __future__ import annotations

import ast
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo

from linli.bot.messages import all_catalogs
from linli.common.catalogues import CODE_PARTS, PARTS, ROOT, extract, po_path, read_catalogue
from linli.common.i18n import Locale, Plural, Translator, catalogue_dir

T = Translator(all_catalogs())
KEYS = T.keys()
CATALOGUES = [(part, loc.value) for part in PARTS for loc in Locale]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in __import__("string").Formatter().parse(text) if name}


def test_every_key_has_a_text_in_both_locales_with_the_same_placeholders() -> None:
    assert len(KEYS) > 500
    assert T.problems() == []
    for key in KEYS:
        texts = {loc: T.template(loc, key) for loc in Locale}
        forms = [f for t in texts.values() for f in (t.forms if isinstance(t, Plural) else (t,))]
        assert all(f.strip() for f in forms), key
        assert len({frozenset(fields(f)) for f in forms}) == 1, (key, forms)


def test_problems_finds_a_missing_locale_an_empty_text_and_different_placeholders() -> None:
    broken = Translator([{"a": {"zh-CN": "{x}"}, "b": {"zh-CN": "", "en": ""},
                          "c": {"zh-CN": "{x}", "en": "{y}"}}])
    assert sorted(broken.problems()) == ["a: no en", "b: empty text",
                                         "c: fields differ between locales"]


@pytest.mark.parametrize(("part", "locale"), CATALOGUES)
def test_the_compiled_catalogue_is_up_to_date_with_its_po_file(part: str, locale: str) -> None:
    po = po_path(ROOT, part, locale)
    source = read_catalogue(po, locale)
    with po.with_suffix(".mo").open("rb") as f:
        compiled = read_mo(f)
    assert source.plural_forms == compiled.plural_forms
    def texts(catalog: Catalog) -> dict[object, object]:
        return {m.id if isinstance(m.id, str) else tuple(m.id):
                m.string if isinstance(m.string, str) else tuple(m.string)
                for m in catalog if m.id}

    assert texts(compiled) == texts(source), "run `make messages`"
    assert not [m.id for m in source if m.id and m.fuzzy]
    assert not [m.id for m in source if m.id and not all(
        m.string if isinstance(m.string, tuple | list) else (m.string,))]


def test_plural_forms_per_locale() -> None:
    for part in PARTS:
        zh = read_catalogue(po_path(ROOT, part, "zh-CN"), "zh-CN")
        en = read_catalogue(po_path(ROOT, part, "en"), "en")
        assert zh.plural_forms == "nplurals=1; plural=0;"
        assert en.plural_forms == "nplurals=2; plural=(n != 1);"
        assert catalogue_dir("zh-CN") == "zh_CN"


@pytest.mark.parametrize(("key", "params", "one", "many"), [
    ("verification.dm.wrong", {}, "1 try left today", "3 tries left today"),
    ("question.digest.open", {}, "1 question is still open", "3 questions are still open"),
    ("moderation.notice.warn_mute", {"compound": "c", "duration": "1 hr", "until": "u"},
     "received 1 warning in", "received 3 warnings in"),
    ("cli.staff.invited", {}, "invited to 1 room", "invited to 3 rooms"),
    ("broadcasts.notice.sending", {}, "notice to 1 room;", "notice to 3 rooms;"),
])
def test_english_counts_agree_with_their_nouns(
        key: str, params: dict[str, str], one: str, many: str) -> None:
    template = T.template("en", key)
    assert isinstance(template, Plural)
    assert one in T.render("en", key, **{template.count_field: 1}, **params)
    assert many in T.render("en", key, **{template.count_field: 3}, **params)
    zh = T.template("zh-CN", key)
    assert isinstance(zh, Plural) and len(zh.forms) == 1


def test_no_english_text_hedges_its_plural() -> None:
    assert [k for k in KEYS if "(s)" in T.template("en", k)] == []
    # a count followed by a plural noun, outside plural forms, says "1 rooms" for one
    counted = re.compile(r"\{(count|n|rows|people|members|tries_left|cap)\} [a-z]+s\b")
    assert [k for k in KEYS if not isinstance(T.template("en", k), Plural)
            and counted.search(T.template("en", k))] == []


def test_every_key_the_code_names_is_in_a_catalogue() -> None:
    found = extract(ROOT)
    assert len(found) > 300
    assert {k: part for k, part in found.items() if not T.has(k)} == {}


def test_calls_that_render_at_once_pass_every_placeholder() -> None:
    """``ctx.say("cli.x", count=3)`` and friends: the template's fields are all passed (calls
    whose params are gathered elsewhere, like a domain result's, are not checked here)."""
    renderers = {"render", "say", "reply", "t", "_r", "r"}
    checked, missing = 0, []
    for part in CODE_PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                    node.func, "id", "")
                keys = [a.value for a in node.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)
                        and T.has(a.value)]
                if (name not in renderers or len(keys) != 1
                        or any(k.arg is None for k in node.keywords)):
                    continue
                checked += 1
                passed = {k.arg for k in node.keywords}
                for loc in Locale:
                    template = T.template(loc, keys[0])
                    forms = template.forms if isinstance(template, Plural) else (template,)
                    need = set().union(*(fields(f) for f in forms))
                    if need - passed:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {keys[0]} "
                                       f"needs {sorted(need - passed)}")
    assert checked > 150
    assert missing == []
