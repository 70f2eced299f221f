"""Plain data of the registry and of verification; no database, no Matrix.

Names, phones and notes are plaintext here (decrypted by the repository) and are kept out of
``repr`` so a logged object never carries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from linli.common.ids import CompoundId, HouseholdId, PersonId, UserID


class PersonRole(StrEnum):
    OWNER = "owner"
    TENANT = "tenant"
    FAMILY = "family"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    REMOVED = "removed"


class MemberState(StrEnum):
    PENDING = "pending"      # in the room (or knocking), not yet verified, deadline running
    VERIFIED = "verified"    # linked to a registered person
    LOCKED = "locked"        # too many wrong tries; pending again when the lock ends
    LEFT = "left"            # left by themselves; the deadline is kept for a return
    REMOVED = "removed"      # removed by the bot (grace over, moved out)


@dataclass(frozen=True)
class Household:
    id: HouseholdId
    compound_id: CompoundId
    building: str
    unit: str
    flat: str

    def label(self, locale: str) -> str:
        """The whole address: 3栋2单元301室 / Bldg 3, Unit 2, Flat 301."""
        if locale == "en":
            unit = f", Unit {self.unit}" if self.unit else ""
            return f"Bldg {self.building}{unit}, Flat {self.flat}"
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building}栋{unit}{self.flat}室"

    def short_label(self, locale: str) -> str:
        """Building and unit only, for the welcome in the room: 3栋2单元."""
        if locale == "en":
            return f"Bldg {self.building}" + (f", Unit {self.unit}" if self.unit else "")
        return f"{self.building}栋" + (f"{self.unit}单元" if self.unit else "")

    @property
    def ref(self) -> str:
        """The dashed form officers type: 3-2-301 or 3-301."""
        return "-".join(p for p in (self.building, self.unit, self.flat) if p)


@dataclass(frozen=True)
class Person:
    id: PersonId
    household_id: HouseholdId
    compound_id: CompoundId
    name: str = field(repr=False)
    role: PersonRole
    phone: str | None = field(default=None, repr=False)
    note: str | None = field(default=None, repr=False)
    status: PersonStatus = PersonStatus.ACTIVE


@dataclass(frozen=True)
class RegistryRecord:
    """One person as given to the registry (by an import row or a command), normalised."""

    building: str
    unit: str
    flat: str
    name: str = field(repr=False)
    role: PersonRole
    phone: str | None = field(default=None, repr=False)
    note: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ImportCounts:
    households_added: int = 0
    people_added: int = 0
    people_changed: int = 0
    people_unchanged: int = 0
    people_restored: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.households_added + self.people_added + self.people_changed
            + self.people_restored
        )


@dataclass(frozen=True)
class RegistryEntry:
    """One person of the registry with their household, for export and listing."""

    household: Household
    person: Person


@dataclass(frozen=True)
class Member:
    """A Matrix account's standing in one compound's room."""

    compound_id: CompoundId
    user_id: UserID
    state: MemberState
    deadline: datetime | None = None
    reminders_sent: int = 0
    locked_until: datetime | None = None
    person_id: PersonId | None = None
    household_id: HouseholdId | None = None
    adopted: bool = False
    prompted_at: datetime | None = None
    failures_since: datetime | None = None
    notice_key: str | None = None
    removal_reason: str | None = None
    joined_at: datetime | None = None
    verified_at: datetime | None = None


@dataclass(frozen=True)
class Link:
    """An account linked to a registered person: at most one each way."""

    user_id: UserID
    person_id: PersonId
    compound_id: CompoundId
    household_id: HouseholdId
    method: str
    linked_at: datetime


@dataclass(frozen=True)
class CodeIssue:
    """A freshly issued code: the plaintext exists only in this object, once."""

    household: Household
    code: str = field(repr=False)
    expires_at: datetime


# effects the edge carries out ---------------------------------------------------------------
class EffectKind(StrEnum):
    SEND_DM = "send_dm"                  # DM ``user_id``: render ``key`` with ``params``
    ADMIT = "admit"                      # let ``user_id`` speak (mute mode) / invite (knock)
    RESTRICT = "restrict"                # take speaking back (mute mode) after a revoke
    WELCOME = "welcome"                  # post ``key`` with ``params`` in the compound room
    KICK = "kick"                        # kick ``user_id`` (never ban); reason = ``key``
    NOTIFY_OFFICERS = "notify_officers"  # post ``key`` in the station's officers' room


@dataclass(frozen=True)
class Effect:
    """One thing for the edge to do; message params are already formatted strings, rendered
    with the compound's locale (``key`` is a message key of verification/locale)."""

    kind: EffectKind
    compound_id: CompoundId
    user_id: UserID | None
    key: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    cause: str = ""
    """For effects of periodic work: a key naming what caused it (member, deadline, which
    reminder), the same if the work is done again, from which the edge derives transaction
    ids. Effects of an event take the event's id instead and leave this empty."""


class AttemptOutcome(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"                      # code or name wrong (neutral; never says which)
    LOCKED = "locked"
    PERSON_TAKEN = "person_taken"        # that person is linked to another account
    ACCOUNT_LINKED = "account_linked"    # this account is already someone else
    CAP_REACHED = "cap_reached"
    ALREADY_VERIFIED = "already_verified"
    NOT_PENDING = "not_pending"          # not a member waiting in this compound
    INCOMPLETE = "incomplete"            # no code or no name found in the message


@dataclass(frozen=True)
class WelcomeParts:
    """The masked parts of a welcome: "3栋2单元 张*"."""

    place: str
    masked_name: str


@dataclass(frozen=True)
class AttemptResult:
    outcome: AttemptOutcome
    reply_key: str
    reply_params: Mapping[str, Any] = field(default_factory=dict)
    tries_left: int | None = None
    locked_until: datetime | None = None
    welcome: WelcomeParts | None = None
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class OfficerResult:
    """What an officer's command did: a report for the officers' room plus effects."""

    report_key: str
    report_params: Mapping[str, Any]
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class PendingMember:
    user_id: UserID
    state: MemberState
    deadline: datetime | None
    locked_until: datetime | None
    adopted: bool


# enrolment figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentFigures:
    """One compound's (or building's) enrolment numbers at one moment: the one type behind
    the enrolment report, the metrics, the dashboard and the daily snapshots."""

    households: int = 0
    households_enrolled: int = 0
    verified_members: int = 0
    pending_members: int = 0
    locked_members: int = 0
    over_cap_households: int = 0

    def __post_init__(self) -> None:
        if min(self.households, self.households_enrolled, self.verified_members,
               self.pending_members, self.locked_members, self.over_cap_households) < 0:
            raise ValueError("enrolment figures cannot be negative")

    @property
    def coverage(self) -> float:
        """Share of households with at least one verified member, in percent (0 to 100,
        rounded to one decimal)."""
        if not self.households:
            return 0.0
        return round(100.0 * self.households_enrolled / self.households, 1)

    @property
    def waiting_members(self) -> int:
        """Members who have not verified yet: pending and locked."""
        return self.pending_members + self.locked_members


@dataclass(frozen=True)
class UnenrolledUnit:
    building: str
    unit: str
    flats: tuple[str, ...]


@dataclass(frozen=True)
class EnrolmentReport:
    compound_id: CompoundId
    total: EnrolmentFigures
    by_building: Mapping[str, EnrolmentFigures]
    pending: tuple[PendingMember, ...]
    unenrolled: tuple[UnenrolledUnit, ...]
