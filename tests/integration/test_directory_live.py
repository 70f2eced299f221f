"""A compound created with the CLI while the bot runs is served at once: a resident who joins
its room within 100 ms of the command returning gets exactly one DM prompt, without the bot
waiting for its periodic directory refresh (``bot.directory_refresh``, 30 s by default, which
this test leaves alone: ``harness.bot_config`` shortens it to 1 s, so it is set back here)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import pytest
from nio import ErrorResponse

from linli.bot.devserver import Account, LocalSynapse
from tests.integration.harness import Person, Seen, bot_config, cli, start_bot, unique, until

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]
REFRESH = 30.0  # the default bot.directory_refresh, in seconds
QUIET = 2.0  # after the first prompt, how long the resident keeps syncing for a second one


async def test_compound_created_while_running_prompts_a_resident_who_joins_at_once(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    resident = await people("resident")
    config = bot_config(synapse, bot_account, db_path,
                        extra={"bot": {"directory_refresh": f"{REFRESH:.0f}s"}})
    assert config.bot.directory_refresh.total_seconds() == REFRESH
    await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
    app = await start_bot(config)
    bot_started = time.monotonic()

    accepting = True

    async def accept_invites() -> None:
        """The resident takes up every invitation (the bot's direct rooms) as a client
        would; a second direct room would show a second prompt."""
        accepted: set[str] = set()
        while accepting:
            for room in sorted(resident.invites - accepted):
                if not isinstance(await resident.client.join(room), ErrorResponse):
                    accepted.add(room)
            await asyncio.sleep(0.05)

    acceptor = asyncio.create_task(accept_invites())
    try:
        slug = unique("xinyuan")  # aliases are server-wide
        name = "新园小区"
        out = await cli(config, "compound", "create", slug, "--name", name,
                        "--station", "xinhua")
        returned = time.monotonic()
        found = re.search(r"room (!\S+)", out[0])
        assert found, out
        room = found.group(1)
        joining = asyncio.create_task(resident.join(room))
        started_join = time.monotonic() - returned
        await joining
        joined = time.monotonic() - returned
        print(f"\njoin sent {started_join * 1000:.0f} ms and done {joined * 1000:.0f} ms after "
              "the CLI returned")
        assert started_join < 0.1

        # The prompt must come well before the first periodic refresh could help.
        wait = min(15.0, REFRESH - (time.monotonic() - bot_started) - 1.0)
        assert wait >= 5.0, "the set-up took too long to tell a refresh from a live update"
        prompt_text = f"欢迎加入“{name}”邻里群"
        bot = app.gateway.user_id

        def prompts() -> list[Seen]:
            found = {s.event_id: s for s in resident.seen
                     if s.sender == bot and prompt_text in s.body}
            return list(found.values())

        await until(prompts, wait,
                    f"the DM prompt within {wait:.0f}s (directory refresh every {REFRESH:.0f}s)")
        first = time.monotonic() - returned
        print(f"first prompt {first:.1f}s after the CLI returned")
        # Keep syncing (and accepting invitations) a while: no second prompt.
        await asyncio.sleep(QUIET)
        seen = prompts()
        assert len(seen) == 1, [(s.room_id, s.body[:40]) for s in seen]
    finally:
        accepting = False
        await acceptor
        await app.close()
