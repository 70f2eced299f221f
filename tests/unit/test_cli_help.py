"""``linli … --help`` speaks the deployment's language: zh-CN by default, English with
``--lang en`` or ``bot.default_locale: en``; every command's texts are in both catalogues."""

from __future__ import annotations

import argparse
import re
from typing import Any

import pytest

from linli.bot.cli import build_parser, main
from linli.bot.messages import all_catalogs
from linli.common.i18n import Translator

T = Translator(all_catalogs())
ARGPARSE_OWN = {"help", "version"}
# words no Chinese help sentence has: English sentences and argparse's own headings
ENGLISH = re.compile(r"\b(the|a|an|and|of|to|for|with|from|this|is|are|by|in|on|its|usage|"
                     r"options|positional|arguments)\b", re.IGNORECASE)


def commands(parser: argparse.ArgumentParser,
             path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


PARSER = build_parser()
COMMANDS = commands(PARSER)


def texts(parser: argparse.ArgumentParser) -> list[str]:
    """The message keys a parser shows: its description, its arguments' and its verbs'."""
    keys = [parser.description] if parser.description else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            keys += [choice.help or "" for choice in action._choices_actions]
        elif action.dest not in ARGPARSE_OWN and action.help:
            keys.append(action.help)
    return keys


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(autouse=True)
def _no_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_CONFIG", raising=False)
    monkeypatch.delenv("LINLI_BOT__DEFAULT_LOCALE", raising=False)


def help_page(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    return out.out


def test_every_command_and_verb_has_its_texts_in_both_languages() -> None:
    assert len(COMMANDS) > 50
    for path, parser in COMMANDS:
        keys = texts(parser)
        if path:
            assert parser.description, path  # every verb says what it does
        for key in keys:
            assert key.startswith("cli.help.") and T.has(key), (path, key)
            zh, en = T.render("zh-CN", key), T.render("en", key)
            assert re.search(r"[\u4e00-\u9fff]", zh) and zh != en, (path, key)
    for parser in (p for _, p in COMMANDS):  # every verb is listed with a text
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert {c.dest for c in action._choices_actions} == set(action.choices)


@pytest.mark.parametrize(("path", "parser"), COMMANDS,
                         ids=[" ".join(p) or "linli" for p, _ in COMMANDS])
def test_help_is_chinese_by_default_and_english_with_lang_en(
        capsys: pytest.CaptureFixture[str], path: tuple[str, ...],
        parser: argparse.ArgumentParser) -> None:
    zh = help_page(capsys, *path)
    assert zh.startswith(f"用法：{parser.prog} ")
    assert "选项：" in zh and "显示本帮助并退出" in zh
    for key in texts(parser):
        assert flat(T.render("zh-CN", key)) in flat(zh), key
    # no English left but command and option names, metavars and examples of values
    prose = "\n".join(line for line in zh.split("\n\n", 1)[1].splitlines())
    assert ENGLISH.findall(prose) == [], prose

    en = help_page(capsys, "--lang", "en", *path)
    assert en.startswith(f"usage: {parser.prog} ")
    assert "options:" in en and "show this help message and exit" in en
    for key in texts(parser):
        assert flat(T.render("en", key)) in flat(en), key
    assert not re.search(r"[\u4e00-\u9fff]", en.replace("3栋2单元301", ""))


def test_the_deployments_language_chooses_the_help_language(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_BOT__DEFAULT_LOCALE", "en")
    assert "create a compound and its room" in help_page(capsys, "compound", "create")
    assert "通过机器人创建小区" in help_page(capsys, "--lang", "zh-CN", "compound", "create")


def test_chinese_help_is_wrapped_by_the_columns_it_takes(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    from linli.bot.cli import _width

    page = help_page(capsys, "compound", "set")
    assert max(_width(line) for line in page.splitlines()) <= 80
    usage = page.split("\n\n", 1)[0].splitlines()  # continued lines under the first
    assert len(usage) > 1
    first = _width(usage[0][:usage[0].index("[")])
    assert all(len(line) - len(line.lstrip()) == first for line in usage[1:])


def test_help_texts_are_read_only_when_a_page_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    import gettext

    read: list[str] = []
    translation = gettext.translation

    def spy(domain: str, *args: Any, **kwargs: Any) -> Any:
        read.append(domain)
        return translation(domain, *args, **kwargs)

    monkeypatch.setattr(gettext, "translation", spy)
    build_parser().parse_args(["compound", "list"])
    assert "linli" not in read
    with pytest.raises(SystemExit):
        build_parser().parse_args(["compound", "list", "--help"])
    assert "linli" in read
