"""Core subcommands: run, db, station, compound, staff, demo."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.cli import CliContext, CliError, add_command
from bot.config import check_timezone
from bot.matrix.gateway import STAFF_POWER, MatrixActionError, MatrixGateway
from common.i18n import parse_locale
from common.ids import UserID, parse_room_id, parse_slug, parse_user_id
from community.model import AdmissionMode, Role, StaffGrant
from storage.repos.botstate import BotStateRepository
from storage.repos.community import CommunityRepository


@asynccontextmanager
async def bot_gateway(ctx: CliContext) -> AsyncIterator[MatrixGateway]:
    """The bot's Matrix client for one CLI command, reusing the running bot's device."""
    from bot.runtime import ACCESS_TOKEN, DEVICE_ID

    db = await ctx.database()
    state = BotStateRepository(db, ctx.clock)
    gateway = MatrixGateway(ctx.config.matrix)
    try:
        try:
            device, token = await gateway.login(
                await state.get(DEVICE_ID), await state.get(ACCESS_TOKEN)
            )
        except MatrixActionError as exc:
            raise CliError(f"cannot log in to {ctx.config.matrix.homeserver}: {exc}") from exc
        except Exception as exc:
            raise CliError(
                f"cannot reach the homeserver {ctx.config.matrix.homeserver}: "
                f"{type(exc).__name__}; check matrix.homeserver and that it is running"
            ) from exc
        await state.set(DEVICE_ID, device)
        if ctx.config.matrix.access_token is None:
            await state.set(ACCESS_TOKEN, token)
        yield gateway
    finally:
        await gateway.close()


def register(sub: Any) -> None:
    add_command(sub, "run", cmd_run, "run the bot until SIGTERM or SIGINT")

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION"
    )
    add_command(db, "upgrade", cmd_db_upgrade, "apply all database migrations")

    station = sub.add_parser("station", help="police stations").add_subparsers(metavar="ACTION")
    p = add_command(station, "create", cmd_station_create,
                    "create a station and its officers' room")
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--locale", default="zh-CN")
    p.add_argument("--officers-room", help="use this existing room instead of creating one")
    p.add_argument("--supervisors-room", help="room for escalations")
    add_command(station, "list", cmd_station_list, "list stations")

    compound = sub.add_parser("compound", help="compounds and their rooms").add_subparsers(
        metavar="ACTION"
    )
    p = add_command(compound, "create", cmd_compound_create,
                    "create a compound and its room through the bot")
    _compound_args(p)
    p = add_command(compound, "adopt", cmd_compound_adopt,
                    "take charge of an existing room the bot was invited to")
    _compound_args(p)
    p.add_argument("--room", required=True, help="room id (!…) or alias (#…)")
    add_command(compound, "list", cmd_compound_list, "list compounds")
    p = add_command(compound, "set", cmd_compound_set, "change a compound's settings")
    p.add_argument("slug")
    p.add_argument("--name")
    p.add_argument("--timezone")
    p.add_argument("--locale")
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                   help="a compound setting, e.g. grace=72h (repeatable)")

    staff = sub.add_parser("staff", help="staff roles").add_subparsers(metavar="ACTION")
    p = add_command(staff, "add", cmd_staff_add, "give a Matrix user a staff or admin role")
    _staff_args(p)
    p.add_argument("--name", help="display name shown on contact cards")
    p.add_argument("--phone", help="work phone shown on contact cards")
    p.add_argument("--no-invite", action="store_true", help="do not invite to the rooms")
    p = add_command(staff, "remove", cmd_staff_remove, "take a role away")
    _staff_args(p)
    add_command(staff, "list", cmd_staff_list, "list staff and admins")

    p = add_command(sub, "demo", cmd_demo,
                    "start a local Synapse and the bot with a sample station and compound")
    p.add_argument("--data", default="demo-data", help="folder for the demo's data")
    p.add_argument("--port", type=int, default=8008)
    p.add_argument("--web-port", type=int, default=8080)


def _compound_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug")
    p.add_argument("--name", required=True)
    p.add_argument("--station", required=True, help="slug of the station")
    p.add_argument("--timezone", default=None)
    p.add_argument("--locale", default=None)
    p.add_argument("--mode", choices=[m.value for m in AdmissionMode], default="mute",
                   help="admission: mute (join, post after verification) or knock")


def _staff_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("user_id")
    p.add_argument("--role", required=True,
                   choices=[r.value for r in Role if r is not Role.RESIDENT])
    p.add_argument("--station", help="slug: the role holds for the station's compounds")
    p.add_argument("--compound", help="slug: the role holds for one compound")


async def cmd_run(ctx: CliContext, args: argparse.Namespace) -> int:
    from bot.app import run
    from bot.logs import configure_logging

    configure_logging(ctx.config.logging.level)
    return await run(ctx.config)


async def cmd_db_upgrade(ctx: CliContext, args: argparse.Namespace) -> int:
    await ctx.database()
    ctx.out("database is up to date")
    return 0


async def cmd_station_create(ctx: CliContext, args: argparse.Namespace) -> int:
    from bot.rooms import create_officers_room

    slug = parse_slug(args.slug)
    locale = parse_locale(args.locale).value
    repo = CommunityRepository(await ctx.database(), ctx.clock)
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
    ctx.out(f"station {station.slug} created; officers' room {station.officers_room_id}")
    return 0


async def cmd_station_list(ctx: CliContext, args: argparse.Namespace) -> int:
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    for s in await repo.list_stations():
        ctx.out(f"{s.slug}\t{s.name}\t{s.locale}\tofficers: {s.officers_room_id or '-'}")
    return 0


async def _compound_defaults(ctx: CliContext, args: argparse.Namespace) -> tuple[str, str]:
    tz = check_timezone(args.timezone or ctx.config.bot.default_timezone)
    locale = parse_locale(args.locale or ctx.config.bot.default_locale).value
    return tz, locale


def _station_staff(directory: Any, station_id: int) -> list[str]:
    return sorted({g.user_id for g in directory.grants
                   if g.station_id == station_id and g.role in (Role.OFFICER, Role.ADMIN)})


async def cmd_compound_create(ctx: CliContext, args: argparse.Namespace) -> int:
    from bot.rooms import create_compound_room

    slug = parse_slug(args.slug)
    try:
        tz, locale = await _compound_defaults(ctx, args)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    station = await repo.station(args.station)
    if (await repo.load_directory()).compound_by_slug(slug):
        from common.errors import Conflict

        raise Conflict("error.compound_exists", slug=slug)
    directory = await repo.load_directory()
    staff = _station_staff(directory, station.id)
    mode = AdmissionMode(args.mode)
    async with bot_gateway(ctx) as gateway:
        room_id, alias = await create_compound_room(
            gateway, ctx.translator, name=args.name, slug=slug, locale=locale, mode=mode,
            staff=staff,
        )
    compound = await repo.create_compound(
        slug=slug, name=args.name, station_id=station.id, room_id=room_id, room_alias=alias,
        timezone=tz, locale=locale, admission_mode=mode,
    )
    ctx.out(f"compound {compound.slug} created: room {room_id}" + (f" ({alias})" if alias else ""))
    return 0


async def cmd_compound_adopt(ctx: CliContext, args: argparse.Namespace) -> int:
    from bot.rooms import adopt_room

    slug = parse_slug(args.slug)
    try:
        tz, locale = await _compound_defaults(ctx, args)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    station = await repo.station(args.station)
    directory = await repo.load_directory()
    if directory.compound_by_slug(slug):
        from common.errors import Conflict

        raise Conflict("error.compound_exists", slug=slug)
    mode = AdmissionMode(args.mode)
    from bot.cli_verification import policy_from_config, protector_from_config
    from storage.repos.audit import AuditRepository
    from storage.repos.verification import VerificationRepository
    from verification.service import VerificationService

    # Built before the room is touched: a missing data key stops here, not half-way.
    db = await ctx.database()
    verification = VerificationService(
        VerificationRepository(db, ctx.clock, protector_from_config(ctx)),
        AuditRepository(db, ctx.clock), ctx.clock, policy_from_config(ctx.config.verification),
    )
    async with bot_gateway(ctx) as gateway:
        room_id, members = await adopt_room(
            gateway, args.room, mode, _station_staff(directory, station.id)
        )
        bot_user = gateway.user_id
    compound = await repo.create_compound(
        slug=slug, name=args.name, station_id=station.id, room_id=room_id,
        room_alias=args.room if args.room.startswith("#") else None,
        timezone=tz, locale=locale, admission_mode=mode, settings={"adopted": True},
    )
    ctx.out(
        f"compound {compound.slug} adopted room {room_id} with {len(members)} existing members"
    )
    # Existing members (not staff) wait to verify with the longer grace, not muted now; the
    # running bot asks them by direct message at the configured rate.
    directory = await repo.load_directory(ctx.config.bot.admins)
    residents = [m for m in members
                 if m != bot_user and not directory.is_staff_in_compound(m, compound)]
    added = await verification.adopt(compound, [UserID(m) for m in residents])
    ctx.out(f"{added} members are asked to verify by direct message (a few per minute)")
    return 0


async def cmd_compound_list(ctx: CliContext, args: argparse.Namespace) -> int:
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    directory = await repo.load_directory()
    for c in sorted(directory.compounds.values(), key=lambda c: c.slug):
        station = directory.stations[c.station_id]
        ctx.out(f"{c.slug}\t{c.name}\t{station.slug}\t{c.admission_mode.value}\t{c.timezone}\t"
                f"{c.locale}\t{c.room_alias or c.room_id or '-'}")
    return 0


async def cmd_compound_set(ctx: CliContext, args: argparse.Namespace) -> int:
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    compound = await repo.compound(args.slug)
    changes: dict[str, Any] = {}
    if args.name:
        changes["name"] = args.name
    if args.timezone:
        try:
            changes["timezone"] = check_timezone(args.timezone)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.locale:
        try:
            changes["locale"] = parse_locale(args.locale).value
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.setting:
        import yaml

        settings = dict(compound.settings)
        for item in args.setting:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise CliError(f"--setting {item!r}: write it as KEY=VALUE")
            settings[key.strip()] = yaml.safe_load(value)
        changes["settings"] = settings
    if not changes:
        raise CliError("nothing to change; give --name, --timezone, --locale or --setting")
    await repo.update_compound(args.slug, **changes)
    ctx.out(f"compound {args.slug} updated")
    return 0


async def cmd_staff_add(ctx: CliContext, args: argparse.Namespace) -> int:
    user = parse_user_id(args.user_id)
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    station_id = (await repo.station(args.station)).id if args.station else None
    compound = await repo.compound(args.compound) if args.compound else None
    role = Role(args.role)
    if role is not Role.ADMIN and station_id is None and compound is None:
        raise CliError("staff roles need --station or --compound (only admins may have neither)")
    await repo.add_grant(StaffGrant(
        UserID(user), role, station_id=station_id,
        compound_id=compound.id if compound else None,
        display_name=args.name, phone=args.phone,
    ))
    ctx.out(f"{user} is now {role.value}"
            + (f" of station {args.station}" if args.station else "")
            + (f" of compound {args.compound}" if args.compound else ""))
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
                    ctx.out(f"warning: could not invite {user} to {room}: {exc}")
    ctx.out(f"invited to {len(set(rooms))} room(s)")
    return 0


async def cmd_staff_remove(ctx: CliContext, args: argparse.Namespace) -> int:
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    station_id = (await repo.station(args.station)).id if args.station else None
    compound_id = (await repo.compound(args.compound)).id if args.compound else None
    removed = await repo.remove_grant(
        parse_user_id(args.user_id), Role(args.role), station_id, compound_id
    )
    if not removed:
        raise CliError("no such role to remove")
    ctx.out("removed")
    return 0


async def cmd_staff_list(ctx: CliContext, args: argparse.Namespace) -> int:
    repo = CommunityRepository(await ctx.database(), ctx.clock)
    directory = await repo.load_directory()
    for g in directory.grants:
        where = "district"
        if g.station_id is not None:
            where = "station " + directory.stations[g.station_id].slug
        if g.compound_id is not None:
            where = "compound " + directory.compounds[g.compound_id].slug
        ctx.out(f"{g.user_id}\t{g.role.value}\t{where}")
    return 0


async def cmd_demo(ctx: CliContext, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return await run_demo(args)
