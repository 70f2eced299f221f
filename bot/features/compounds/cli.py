"""Stations, compounds and staff on the command line: ``linli station``, ``linli compound``
(create, import, adopt, list, set) and ``linli staff``.

Only argparse is needed to register them; each handler imports what it uses when it runs, so
``linli --help`` or ``linli compound list`` do not load the Matrix client."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CliContext, CliError, add_command
from linli.bot.cli_core import bot_gateway

if TYPE_CHECKING:
    from linli.community.model import Directory

ADMISSION_MODES = ("mute", "knock")
STAFF_ROLES = ("officer", "property", "community", "judicial", "admin")


def register(sub: Any) -> None:
    station = sub.add_parser("station", help="cli.help.station",
                             description="cli.help.station").add_subparsers(metavar="ACTION")
    p = add_command(station, "create", cmd_station_create,
                    "cli.help.station.create")
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--locale", default="zh-CN")
    p.add_argument("--officers-room", help="cli.help.station.create.officers_room")
    p.add_argument("--supervisors-room", help="cli.help.station.create.supervisors_room")
    add_command(station, "list", cmd_station_list, "cli.help.station.list")

    compound = sub.add_parser("compound", help="cli.help.compound",
                              description="cli.help.compound").add_subparsers(metavar="ACTION")
    p = add_command(compound, "create", cmd_compound_create,
                    "cli.help.compound.create")
    _compound_args(p)
    p = add_command(
        compound, "import", cmd_compound_import,
        "cli.help.compound.import",
    )
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--encoding", help="cli.help.arg.encoding")
    p.add_argument("--parallel", type=int, default=4, metavar="N",
                   help="cli.help.compound.import.parallel")
    p = add_command(compound, "adopt", cmd_compound_adopt,
                    "cli.help.compound.adopt")
    _compound_args(p)
    p.add_argument("--room", required=True, help="cli.help.compound.adopt.room")
    p.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                   help="cli.help.compound.adopt.wait")
    add_command(compound, "list", cmd_compound_list, "cli.help.compound.list")
    p = add_command(compound, "set", cmd_compound_set, "cli.help.compound.set")
    p.add_argument("slug")
    p.add_argument("--name")
    p.add_argument("--timezone")
    p.add_argument("--locale")
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                   help="cli.help.compound.set.setting")
    p.add_argument("--unset", action="append", default=[], metavar="KEY",
                   help="cli.help.compound.set.unset")

    staff = sub.add_parser("staff", help="cli.help.staff",
                           description="cli.help.staff").add_subparsers(metavar="ACTION")
    p = add_command(staff, "add", cmd_staff_add, "cli.help.staff.add")
    _staff_args(p)
    p.add_argument("--name", help="cli.help.staff.add.name")
    p.add_argument("--phone", help="cli.help.staff.add.phone")
    p.add_argument("--no-invite", action="store_true", help="cli.help.staff.add.no_invite")
    p = add_command(staff, "remove", cmd_staff_remove, "cli.help.staff.remove")
    _staff_args(p)
    add_command(staff, "list", cmd_staff_list, "cli.help.staff.list")


def _compound_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--station", required=True, help="cli.help.arg.station_slug")
    p.add_argument("--timezone", default=None)
    p.add_argument("--locale", default=None)
    p.add_argument("--mode", choices=ADMISSION_MODES, default="mute",
                   help="cli.help.arg.mode")


def _staff_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("user_id")
    p.add_argument("--role", required=True, choices=STAFF_ROLES)
    p.add_argument("--station", help="cli.help.arg.role_station")
    p.add_argument("--compound", help="cli.help.arg.role_compound")


def check_timezone(value: str) -> str:
    from linli.bot.config import check_timezone as check

    try:
        return check(value)
    except ValueError:
        raise CliError("cli.error.timezone", value=value[:60]) from None


def check_locale(value: str) -> str:
    from linli.common.i18n import parse_locale

    try:
        return parse_locale(value).value
    except ValueError:
        raise CliError("cli.error.locale", value=value[:20]) from None


async def cmd_station_create(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.features.compounds.rooms import create_officers_room
    from linli.common.ids import parse_room_id, parse_slug

    slug = parse_slug(args.slug)
    locale = check_locale(args.locale)
    repo = (await ctx.services()).community
    officers_room = parse_room_id(args.officers_room) if args.officers_room else None
    if officers_room is None:
        async with bot_gateway(ctx) as gateway:
            officers_room = await create_officers_room(
                gateway, ctx.translator, name=args.name, locale=locale, staff=[]
            )
    station = await repo.create_station(slug, args.name, locale, officers_room)
    if args.supervisors_room:
        station = await repo.update_station(
            slug, supervisors_room_id=parse_room_id(args.supervisors_room)
        )
    ctx.say("cli.station.created", slug=station.slug, room=station.officers_room_id)
    return 0


async def cmd_station_list(ctx: CliContext, args: argparse.Namespace) -> int:

    repo = (await ctx.services()).community
    for s in await repo.list_stations():
        ctx.say("cli.station.row", slug=s.slug, name=s.name, lang=s.locale,
                room=s.officers_room_id or "-")
    return 0


def _compound_defaults(ctx: CliContext, args: argparse.Namespace) -> tuple[str, str]:
    tz = check_timezone(args.timezone or ctx.config.bot.default_timezone)
    locale = check_locale(args.locale or ctx.config.bot.default_locale)
    return tz, locale


def station_staff(directory: Directory, station_id: int) -> list[str]:
    from linli.community.model import Role

    return sorted({g.user_id for g in directory.grants
                   if g.station_id == station_id and g.role in (Role.OFFICER, Role.ADMIN)})


async def cmd_compound_create(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.features.compounds.rooms import compound_room
    from linli.common.errors import Conflict
    from linli.common.ids import parse_slug
    from linli.community.model import AdmissionMode

    slug = parse_slug(args.slug)
    tz, locale = _compound_defaults(ctx, args)
    repo = (await ctx.services()).community
    station = await repo.station(args.station)
    directory = await repo.load_directory()
    if directory.compound_by_slug(slug):
        raise Conflict("error.compound_exists", slug=slug)
    mode = AdmissionMode(args.mode)
    async with bot_gateway(ctx) as gateway:
        room = await compound_room(
            gateway, ctx.translator, name=args.name, slug=slug, locale=locale, mode=mode,
            staff=station_staff(directory, station.id),
        )
    compound = await repo.create_compound(
        slug=slug, name=args.name, station_id=station.id, room_id=room.room_id,
        room_alias=room.alias, timezone=tz, locale=locale, admission_mode=mode,
    )
    ctx.say("cli.compound.reused" if room.reused else "cli.compound.created",
            slug=compound.slug, room=room.room_id, alias=f" ({room.alias})" if room.alias else "")
    return 0


async def cmd_compound_import(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.features.compounds.bulk_import import import_compounds

    return await import_compounds(ctx, args)


async def cmd_compound_adopt(ctx: CliContext, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from linli.bot.features.compounds.rooms import adopt_room, join_for_adoption
    from linli.bot.runtime.rooms import ADOPTION_KEY
    from linli.common.errors import Conflict
    from linli.common.ids import RoomID, UserID, is_room_alias, parse_slug
    from linli.community.model import AdmissionMode

    slug = parse_slug(args.slug)
    tz, locale = _compound_defaults(ctx, args)
    services = await ctx.services()
    repo = services.community
    station = await repo.station(args.station)
    directory = await repo.load_directory()
    if directory.compound_by_slug(slug):
        raise Conflict("error.compound_exists", slug=slug)
    mode = AdmissionMode(args.mode)
    # Built before the room is touched: a missing data key stops here, not half-way.
    db = services.db
    verification = services.verification
    async with bot_gateway(ctx) as gateway:
        # A running bot refuses invitations from anyone who is not staff (the room's owner
        # often is not): tell it first that this room's invitation is for this command.
        target = (await gateway.resolve_alias(args.room) if is_room_alias(args.room)
                  else RoomID(args.room))
        key = ADOPTION_KEY.format(room=target)
        until = ctx.clock.now() + timedelta(seconds=args.wait)
        await services.bot_state.set(key, until.isoformat())
        try:
            room_id = await join_for_adoption(
                gateway, args.room, args.wait,
                lambda: ctx.say("cli.compound.adopt_waiting", bot=gateway.user_id,
                                room=args.room, minutes=max(1, round(args.wait / 60))),
            )
            room_id, members, untouchable = await adopt_room(
                gateway, room_id, args.room, mode, station_staff(directory, station.id)
            )
        finally:
            await services.bot_state.set(key, "")
        bot_user = gateway.user_id
    # The compound and its adopted members commit together: a running bot learns of the
    # compound (directory version) only once its members are recorded as adopted, so it
    # never treats them as new joiners, nor races this command for their rows.
    async with db.unit_of_work():
        compound = await repo.create_compound(
            slug=slug, name=args.name, station_id=station.id, room_id=room_id,
            room_alias=args.room if args.room.startswith("#") else None,
            timezone=tz, locale=locale, admission_mode=mode, settings={"adopted": True},
        )
        # Existing members (not staff) wait to verify with the longer grace, not muted now;
        # the running bot asks them by direct message at the configured rate.
        directory = await repo.load_directory(ctx.config.bot.admins)
        # The room's owners (creators in version 12+, anyone at the bot's level) cannot be
        # muted or removed by the bot: they are not asked to verify (README, "How it behaves").
        residents = [m for m in members
                     if m != bot_user and m not in untouchable
                     and not directory.is_staff_in_compound(m, compound)]
        added = await verification.adopt(compound, [UserID(m) for m in residents])
    ctx.say("cli.compound.adopted", slug=compound.slug, room=room_id, members=len(members))
    ctx.say("cli.compound.asked", count=added)
    return 0


async def cmd_compound_list(ctx: CliContext, args: argparse.Namespace) -> int:

    repo = (await ctx.services()).community
    directory = await repo.load_directory()
    for c in sorted(directory.compounds.values(), key=lambda c: c.slug):
        station = directory.stations[c.station_id]
        ctx.say("cli.compound.row", slug=c.slug, name=c.name, station=station.slug,
                mode=c.admission_mode.value, timezone=c.timezone, lang=c.locale,
                room=c.room_alias or c.room_id or "-")
    return 0


async def cmd_compound_set(ctx: CliContext, args: argparse.Namespace) -> int:

    repo = (await ctx.services()).community
    compound = await repo.compound(args.slug)
    changes: dict[str, Any] = {}
    if args.name:
        changes["name"] = args.name
    if args.timezone:
        changes["timezone"] = check_timezone(args.timezone)
    if args.locale:
        changes["locale"] = check_locale(args.locale)
    unsets = getattr(args, "unset", None) or []
    if args.setting or unsets:
        from linli.bot.features.compounds.settings import SettingError, checked, merged

        try:
            settings = checked(ctx.config, merged(compound.settings, args.setting, unsets))
        except SettingError as exc:
            raise setting_error(ctx, exc) from None
        changes["settings"] = settings
    if not changes:
        raise CliError("cli.compound.nothing")
    await repo.update_compound(args.slug, **changes)
    ctx.say("cli.compound.updated", slug=args.slug)
    if "settings" in changes:
        import json

        for key, value in changes["settings"].items():
            ctx.say("cli.compound.setting_now", setting=key,
                    value=json.dumps(value, ensure_ascii=False))
    return 0


# Setting errors whose message names the key itself; the others say what is wrong with the
# value, inside "compound setting KEY is invalid: ...".
_NAMES_KEY = ("cli.setting.unknown", "cli.setting.column", "cli.setting.not_set",
              "cli.setting.form", "cli.setting.yaml", "cli.setting.empty")


def setting_error(ctx: CliContext, exc: Any) -> CliError:
    if exc.message in _NAMES_KEY:
        return CliError(exc.message, setting=exc.key, **exc.params)
    return CliError("cli.setting.invalid", setting=exc.key,
                    problem=ctx.t(exc.message, **exc.params))


async def cmd_staff_add(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.matrix.gateway import STAFF_POWER, MatrixActionError
    from linli.common.ids import UserID, parse_user_id
    from linli.community.model import Role, StaffGrant

    user = parse_user_id(args.user_id)
    repo = (await ctx.services()).community
    station_id = (await repo.station(args.station)).id if args.station else None
    compound = await repo.compound(args.compound) if args.compound else None
    role = Role(args.role)
    if role is not Role.ADMIN and station_id is None and compound is None:
        raise CliError("cli.staff.needs_scope")
    await repo.add_grant(StaffGrant(
        UserID(user), role, station_id=station_id,
        compound_id=compound.id if compound else None,
        display_name=args.name, phone=args.phone,
    ))
    scope = ""
    if args.station:
        scope += ctx.t("cli.staff.scope.station", slug=args.station)
    if args.compound:
        scope += ctx.t("cli.staff.scope.compound", slug=args.compound)
    ctx.say("cli.staff.granted", user=user, role=ctx.t(f"cli.role.{role.value}"), scope=scope)
    if args.no_invite:
        return 0
    directory = await repo.load_directory()
    rooms: list[str] = []
    if station_id is not None:
        st = directory.stations[station_id]
        if role in (Role.OFFICER, Role.ADMIN) and st.officers_room_id:
            rooms.append(st.officers_room_id)
        rooms += [c.room_id for c in directory.compounds_of_station(station_id) if c.room_id]
    if compound and compound.room_id:
        rooms.append(compound.room_id)
    if not rooms:
        return 0
    async with bot_gateway(ctx) as gateway:
        for room in dict.fromkeys(rooms):
            try:
                await gateway.set_power_levels(room, {user: STAFF_POWER})
                await gateway.invite(room, user)
            except MatrixActionError as exc:
                if "already in the room" not in exc.message and exc.errcode != "M_FORBIDDEN":
                    ctx.say("cli.staff.invite_failed", user=user, room=room, detail=str(exc))
    ctx.say("cli.staff.invited", count=len(set(rooms)))
    return 0


async def cmd_staff_remove(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.common.ids import parse_user_id
    from linli.community.model import Role

    repo = (await ctx.services()).community
    station_id = (await repo.station(args.station)).id if args.station else None
    compound_id = (await repo.compound(args.compound)).id if args.compound else None
    removed = await repo.remove_grant(
        parse_user_id(args.user_id), Role(args.role), station_id, compound_id
    )
    if not removed:
        raise CliError("cli.staff.no_such_role")
    ctx.say("cli.staff.removed")
    return 0


async def cmd_staff_list(ctx: CliContext, args: argparse.Namespace) -> int:

    repo = (await ctx.services()).community
    directory = await repo.load_directory()
    for g in directory.grants:
        where = ctx.t("cli.staff.where.district")
        if g.station_id is not None:
            where = ctx.t("cli.staff.where.station", slug=directory.stations[g.station_id].slug)
        if g.compound_id is not None:
            where = ctx.t("cli.staff.where.compound",
                          slug=directory.compounds[g.compound_id].slug)
        ctx.say("cli.staff.row", user=g.user_id, role=g.role.value, scope=where)
    return 0
