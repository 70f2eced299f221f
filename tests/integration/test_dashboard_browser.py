"""The dashboard in a real headless browser: Debian's Chromium at /usr/bin/chromium driven by
Playwright (never a downloaded browser), against the web app that ``build_app`` wires from the
config, over a registry with known figures (tests/unit/dashboard_world.py).

The Matrix side of the bot is not started: the dashboard reads the database only, and the
homeserver in the config is never contacted.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from linli.bot.app import App, build_app
from linli.bot.config import Config
from linli.common.clock import FakeClock
from linli.storage.db import Database
from tests.unit.enrolment.world import DAVE, DashWorld, make_dash_world
from tests.unit.verification.fixtures import KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 30_000


@dataclass
class Site:
    world: DashWorld
    app: App
    base: str
    browser: Browser


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    assert CHROMIUM.exists(), "Debian's chromium is needed (scripts/install-system-deps.sh)"  # noqa: ASYNC240
    url = f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"
    db = Database(url)
    await db.upgrade()
    clock = FakeClock()
    world = await make_dash_world(db, clock)
    config = Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": "@linli:localhost",
                   "access_token": "never-used"},
        "database": {"url": url},
        "security": {"data_key": base64.urlsafe_b64encode(KEY).decode()},
        "verification": {"household_cap": 1},
        "web": {"enabled": True, "dashboard": True, "host": "127.0.0.1", "port": 0},
    })
    app = await build_app(config, clock=clock)
    try:
        await app.bot.directory.reload()
        assert app.web is not None
        await app.web.start()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS,
            )
            try:
                yield Site(world, app, f"http://127.0.0.1:{app.web.port}", browser)
            finally:
                await browser.close()
    finally:
        await app.close()
        await db.close()


async def new_page(site: Site) -> tuple[BrowserContext, Page]:
    context = await site.browser.new_context(accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    return context, await context.new_page()


async def log_in(site: Site, page: Page, token: str) -> None:
    await page.goto(site.base + "/dashboard/")
    assert page.url == site.base + "/dashboard/login"  # no session: sent to the login form
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.base + "/dashboard/")


async def test_log_in_see_coverage_open_a_compound_and_export_csv(site: Site) -> None:
    world = site.world
    context, page = await new_page(site)
    await log_in(site, page, world.tokens.admin)

    cookies = {c["name"]: c for c in await context.cookies()}
    session = cookies["linli_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert world.tokens.admin not in session["value"]
    assert world.tokens.admin not in page.url

    # coverage on the overview: the district's sum and a bar per compound
    assert "6 户中 2 户已有成员验证入群，覆盖率 33.3%" in await page.inner_text(".summary")
    row = page.locator("table[data-table=compounds] tr", has_text="梅园小区")
    assert await row.locator("meter").get_attribute("value") == "50.0"
    other = page.locator("table[data-table=compounds] tr", has_text="桃园小区")
    assert await other.locator("meter").get_attribute("value") == "0.0"

    # open the compound: buildings, the flats with nobody enrolled, who is waiting
    await page.click("a:text('梅园小区')")
    await page.wait_for_url(site.base + "/dashboard/compounds/meiyuan")
    assert "4 户中 2 户已有成员验证入群，覆盖率 50.0%" in await page.inner_text(".summary")
    buildings = await page.inner_text("table[data-table=buildings]")
    assert "3\t2\t1\t50.0%" in buildings.replace("\t\n", "\t").replace(" ", "")
    unenrolled = await page.inner_text("table[data-table=unenrolled]")
    assert "302" in unenrolled and "102" in unenrolled
    assert DAVE in await page.inner_text("table[data-table=pending]")
    assert "张伟" not in await page.content()
    assert await page.locator("svg.chart polyline").count() == 1  # coverage over time

    # export a table as CSV: a real download, through the session cookie
    async with page.expect_download() as info:
        await page.click("a.csv[href*='buildings.csv']")
    download = await info.value
    assert download.suggested_filename == "meiyuan-buildings.csv"
    saved = await download.path()
    text = Path(saved).read_text(encoding="utf-8-sig")  # noqa: ASYNC240 - a small file
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["楼栋", "登记户数", "已入群户数", "覆盖率 %", "已验证成员", "超出上限户数"],
        ["3", "2", "1", "50.0", "2", "1"],
        ["5", "2", "1", "50.0", "1", "0"],
    ]

    # English by the switch, kept for the session
    await page.click("a[hreflang=en]")
    await page.wait_for_load_state()
    assert "Households with nobody enrolled" in await page.content()
    await page.click("nav >> text=Audit log")
    await page.wait_for_url(site.base + "/dashboard/audit")
    audit = await page.inner_text("table[data-table=audit]")
    assert "dashboard.compound" in audit and "compound:meiyuan" in audit

    # the compound page view was audited with the token as the actor
    entries = await world.verification.audit.recent(50)
    assert any(e.action == "dashboard.compound" and e.actor == f"token:{world.tokens.ids['admin']}"
               for e in entries)

    # log out: the session is gone
    await page.click("nav button[type=submit]")
    await page.wait_for_url(site.base + "/dashboard/login")
    await page.goto(site.base + "/dashboard/")
    assert page.url == site.base + "/dashboard/login"
    await context.close()


async def test_another_stations_compound_looks_like_no_compound(site: Site) -> None:
    world = site.world
    context, page = await new_page(site)
    await log_in(site, page, world.tokens.other_officer)
    table = await page.inner_text("table[data-table=compounds]")
    assert "桃园小区" in table and "梅园小区" not in table

    for slug in ("meiyuan", "nowhere"):  # another station's, and one that does not exist
        response = await page.goto(site.base + f"/dashboard/compounds/{slug}")
        assert response is not None and response.status == 404
        assert f"没有您可查看的小区“{slug}”。" in await page.inner_text(".error")
        api = await page.goto(site.base + f"/api/compounds/{slug}/unenrolled.csv")
        assert api is not None and api.status == 404
        assert await api.json() == {"errcode": "M_NOT_FOUND",
                                    "error": f"没有您可查看的小区“{slug}”。"}
    await context.close()


async def test_an_officer_prints_a_visit_sheet_with_names_but_no_phones(site: Site) -> None:
    world = site.world
    context, page = await new_page(site)
    await log_in(site, page, world.tokens.officer)
    await page.goto(site.base + "/dashboard/compounds/meiyuan")
    await page.click("a.visits")
    await page.wait_for_url(site.base + "/dashboard/compounds/meiyuan/visits")
    sheet = await page.inner_text("table[data-table=visits]")
    assert "叶西·卓玛（租户）" in sheet and "王芳（户主）" in sheet
    assert "张伟" not in sheet  # 3-2-301 is enrolled: not on the sheet
    assert "0891" not in await page.content() and "138" not in sheet
    assert any(e.action == "dashboard.visits" for e in await world.verification.audit.recent(20))
    await context.close()
