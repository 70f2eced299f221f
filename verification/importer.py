"""Reading the household registry from a CSV file and checking every row.

Format (also in docs/registry-format.md): one person per row, a header row naming the
columns, English or Chinese headers in any order:

=========  ==========================================  ========  ===========================
column     Chinese headers accepted                    required  values
=========  ==========================================  ========  ===========================
building   楼栋, 楼号, 栋, 楼                            yes       "3", "3栋", "A座" -> "3", "A"
unit       单元                                         no        "2", "2单元"; empty if none
flat       房号, 室, 门牌, 房间                          yes       "301", "301室"
name       姓名, 名字                                   yes       real name, up to 60 chars
phone      电话, 手机, 手机号, 联系电话                   no        mobile or landline
role       身份, 类型, 关系, 人员类型                     yes       owner/业主, tenant/租户,
                                                                  family/家属
note       备注                                         no        free text, up to 200 chars
=========  ==========================================  ========  ===========================

Encoding: UTF-8 with or without BOM; otherwise GB18030 (a superset of the GBK that Chinese
spreadsheet software writes) is tried; ``--encoding`` forces one. Row numbers in the report
are the line numbers a spreadsheet shows (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from linli.common.errors import DomainError
from linli.verification.model import PersonRole, RegistryRecord
from linli.verification.names import (
    MAX_NAME,
    display_name,
    normalise_building,
    normalise_flat,
    normalise_name,
    normalise_phone,
    normalise_unit,
    valid_part,
)

COLUMNS = ("building", "unit", "flat", "name", "phone", "role", "note")
REQUIRED = ("building", "flat", "name", "role")
ALIASES: dict[str, str] = {
    "building": "building", "楼栋": "building", "楼号": "building", "栋": "building",
    "楼": "building", "栋号": "building",
    "unit": "unit", "单元": "unit", "单元号": "unit",
    "flat": "flat", "房号": "flat", "室": "flat", "门牌": "flat", "门牌号": "flat",
    "房间": "flat", "房间号": "flat", "room": "flat",
    "name": "name", "姓名": "name", "名字": "name",
    "phone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
    "联系电话": "phone", "mobile": "phone",
    "role": "role", "身份": "role", "类型": "role", "关系": "role", "人员类型": "role",
    "note": "note", "备注": "note", "notes": "note",
}
ROLES: dict[str, PersonRole] = {
    "owner": PersonRole.OWNER, "业主": PersonRole.OWNER, "户主": PersonRole.OWNER,
    "房主": PersonRole.OWNER,
    "tenant": PersonRole.TENANT, "租户": PersonRole.TENANT, "租客": PersonRole.TENANT,
    "承租人": PersonRole.TENANT,
    "family": PersonRole.FAMILY, "家属": PersonRole.FAMILY, "家庭成员": PersonRole.FAMILY,
    "成员": PersonRole.FAMILY, "家人": PersonRole.FAMILY,
}
MAX_NOTE = 200


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: row (0 = the file as a whole), column, message key."""

    row: int
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ParsedFile:
    records: tuple[tuple[int, RegistryRecord], ...]   # (row number, record) of good rows
    problems: tuple[Problem, ...]
    rows: int                                        # data rows read (not counting blanks)
    encoding: str

    @property
    def bad_rows(self) -> set[int]:
        return {p.row for p in self.problems if p.row > 0}

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row == 0]


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text and the encoding used; raises DomainError("import.bad_encoding") if none fits."""
    tries = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for name in tries:
        assert name is not None
        if name.lower().replace("-", "") in ("gbk", "gb2312", "cp936"):
            name = "gb18030"  # the superset: decodes everything GBK does, and more
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise DomainError("import.unknown_encoding", encoding=name) from None
    raise DomainError("import.bad_encoding")


def _header_key(text: str) -> str | None:
    value = unicodedata.normalize("NFKC", text).strip().strip("\ufeff").lower()
    value = value.replace(" ", "")
    return ALIASES.get(value)


def parse_registry(data: bytes, encoding: str | None = None) -> ParsedFile:
    """Read and check every row; nothing is stored here."""
    text, used = decode(data, encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        return ParsedFile((), (Problem(0, "", "import.empty_file"),), 0, used)
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _header_key(title)
        if key is None:
            if title.strip():
                problems.append(Problem(0, title.strip()[:40], "import.unknown_column"))
            continue
        if key in columns:
            problems.append(Problem(0, title.strip()[:40], "import.duplicate_column"))
            continue
        columns[key] = index
    for need in REQUIRED:
        if need not in columns:
            problems.append(Problem(0, need, "import.missing_column"))
    if problems:
        return ParsedFile((), tuple(problems), 0, used)

    records: list[tuple[int, RegistryRecord]] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    rows = 0
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        rec, row_problems = _check_row(line_no, cells, columns)
        if rec is not None:
            person_key = (rec.building, rec.unit, rec.flat, normalise_name(rec.name))
            first = seen.get(person_key)
            if first is not None:
                row_problems.append(Problem(line_no, "name", "import.duplicate_person",
                                            {"first": first}))
            else:
                seen[person_key] = line_no
        problems.extend(row_problems)
        if rec is not None and not row_problems:
            records.append((line_no, rec))
    return ParsedFile(tuple(records), tuple(problems), rows, used)


def _cell(cells: Sequence[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return unicodedata.normalize("NFKC", cells[index]).strip()


def _check_row(
    line: int, cells: Sequence[str], columns: dict[str, int]
) -> tuple[RegistryRecord | None, list[Problem]]:
    out: list[Problem] = []
    values = {name: _cell(cells, columns, name) for name in COLUMNS}
    for need in REQUIRED:
        if not values[need]:
            out.append(Problem(line, need, "import.empty"))
    building = normalise_building(values["building"])
    unit = normalise_unit(values["unit"])
    flat = normalise_flat(values["flat"])
    if values["building"] and not valid_part(building):
        out.append(Problem(line, "building", "import.invalid_address"))
    if values["unit"] and not valid_part(unit):
        out.append(Problem(line, "unit", "import.invalid_address"))
    if values["flat"] and not valid_part(flat):
        out.append(Problem(line, "flat", "import.invalid_address"))
    name = display_name(values["name"])
    if values["name"] and not normalise_name(name):
        out.append(Problem(line, "name", "import.empty"))
    elif len(name) > MAX_NAME:
        out.append(Problem(line, "name", "import.name_too_long", {"max": MAX_NAME}))
    elif name and any(ch.isdigit() for ch in name):
        out.append(Problem(line, "name", "import.name_has_digits"))
    phone: str | None = None
    if values["phone"]:
        try:
            phone = normalise_phone(values["phone"])
        except DomainError:
            out.append(Problem(line, "phone", "import.invalid_phone"))
    role = ROLES.get(values["role"].lower()) if values["role"] else None
    if values["role"] and role is None:
        out.append(Problem(line, "role", "import.invalid_role", {"value": values["role"][:20]}))
    note = values["note"] or None
    if note and len(note) > MAX_NOTE:
        out.append(Problem(line, "note", "import.note_too_long", {"max": MAX_NOTE}))
    if out or role is None:
        return None, out
    return RegistryRecord(building, unit, flat, name, role, phone, note), out
