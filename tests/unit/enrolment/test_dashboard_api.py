"""The dashboard's JSON API, CSV export, sessions and pages, through aiohttp's test client
against a registry with known figures (tests/unit/dashboard_world.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from linli.bot.features.enrolment.feature import EnrolmentFeature
from linli.bot.web.app import build_web_app
from linli.common.clock import FakeClock
from linli.enrolment.service import TokenService
from linli.storage.db import Database
from linli.storage.repos.enrolment import WebTokenRepository
from tests.unit.enrolment.world import (
    DAVE,
    ERIN,
    MEIYUAN_BUILDINGS,
    MEIYUAN_TOTAL,
    MEIYUAN_UNENROLLED,
    TAOYUAN_TOTAL,
    DashWorld,
    history_days,
    make_dash_world,
)

MEIYUAN_APIS = [
    "/api/compounds/meiyuan",
    "/api/compounds/meiyuan/snapshots",
    "/api/compounds/meiyuan/visits",
    "/api/compounds/meiyuan/buildings.csv",
    "/api/compounds/meiyuan/unenrolled.csv",
    "/api/compounds/meiyuan/pending.csv",
    "/api/compounds/meiyuan/snapshots.csv",
    "/api/compounds/meiyuan/visits.csv",
]
ALL_APIS = [
    "/api/me", "/api/compounds", "/api/compounds.csv", "/api/questions", "/api/audit",
    "/api/questions/open.csv", "/api/questions/compounds.csv", "/api/questions/staff.csv",
    "/api/questions/weeks.csv", "/api/audit.csv", *MEIYUAN_APIS,
]
FEATURE = web.AppKey("feature", EnrolmentFeature)
PHONES = ["13812345678", "13987654321", "0891-6812345", "135 0000 1111", "13700000001"]


@pytest.fixture
async def world(sqlite_db: Database, clock: FakeClock) -> DashWorld:
    return await make_dash_world(sqlite_db, clock)


async def _healthy() -> dict[str, Any]:
    return {"ok": True}


@pytest.fixture
async def client(world: DashWorld) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    feature = world.feature()
    app = build_web_app(health=_healthy, metric_sources=[feature.metrics])
    world.dashboard().register(app)
    app[FEATURE] = feature
    async with TestClient(TestServer(app)) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(client: TestClient, path: str, token: str,  # type: ignore[type-arg]
                   status: int = 200) -> Any:
    resp = await client.get(path, headers=bearer(token))
    assert resp.status == status, (path, resp.status, await resp.text())
    assert resp.content_type == "application/json"
    return await resp.json()


async def audit_actions(world: DashWorld, actor: str) -> list[str]:
    return [e.action for e in await world.verification.audit.recent(200) if e.actor == actor]


# ---- authentication ----------------------------------------------------------------------------


async def test_every_endpoint_refuses_a_missing_token(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    for path in ALL_APIS:
        resp = await client.get(path)
        assert resp.status == 401, path
        body = await resp.json()
        assert body["errcode"] == "M_MISSING_TOKEN" and body["error"], path
        assert resp.headers["WWW-Authenticate"].startswith("Bearer"), path


async def test_every_endpoint_refuses_bad_and_revoked_tokens(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    for path in ALL_APIS:
        for token in ("linli_not-a-real-token", "garbage", world.tokens.revoked,
                      world.tokens.admin + "x"):
            body = await get_json(client, path, token, 401)
            assert body["errcode"] == "M_UNKNOWN_TOKEN", (path, token)
        for header in ("Basic " + world.tokens.admin, "Bearer", "Bearer   ",
                       world.tokens.admin):
            resp = await client.get(path, headers={"Authorization": header})
            assert resp.status == 401, (path, header)
            assert (await resp.json())["errcode"] == "M_MISSING_TOKEN"


async def test_the_token_is_accepted_only_in_the_header_never_in_the_url(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    resp = await client.get("/api/me", params={"token": world.tokens.admin,
                                               "access_token": world.tokens.admin})
    assert resp.status == 401


async def test_another_stations_compound_answers_as_an_unknown_one(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    """An officer cannot tell another station's compound from a slug that does not exist
    (no listing of slugs by probing): the same status, errcode and wording."""
    for path in MEIYUAN_APIS:
        unknown = path.replace("meiyuan", "nowhere")
        for lang in ("", "?lang=en"):
            hidden = await get_json(client, path + lang, world.tokens.other_officer, 404)
            absent = await get_json(client, unknown + lang, world.tokens.other_officer, 404)
            assert hidden == {
                "errcode": absent["errcode"],
                "error": absent["error"].replace("nowhere", "meiyuan"),
            }, path
    assert hidden == {"errcode": "M_NOT_FOUND",
                      "error": "There is no compound “meiyuan” that you may see."}
    body = await get_json(client, MEIYUAN_APIS[0], world.tokens.other_officer, 404)
    assert body["error"] == "没有您可查看的小区“meiyuan”。"
    assert await audit_actions(world, f"token:{world.tokens.ids['other']}") == []
    # while the compound's own station may
    for path in MEIYUAN_APIS:
        token = world.tokens.officer if "visits" in path else world.tokens.station_admin
        resp = await client.get(path, headers=bearer(token))
        assert resp.status == 200, path


async def test_unknown_compound_and_unknown_endpoint_are_404_json(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/compounds/nowhere", world.tokens.admin, 404)
    assert body["errcode"] == "M_NOT_FOUND"
    body = await get_json(client, "/api/nothing/here", world.tokens.admin, 404)
    assert body["errcode"] == "M_UNRECOGNIZED"


# ---- figures -----------------------------------------------------------------------------------


async def test_me_says_who_and_what_they_may_see(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    me = await get_json(client, "/api/me", world.tokens.admin)
    assert me == {"token_id": world.tokens.ids["admin"], "kind": "admin", "label": "区局管理员",
                  "station": None, "compounds": ["meiyuan", "taoyuan"], "locale": "zh-CN"}
    me = await get_json(client, "/api/me", world.tokens.other_officer)
    assert (me["kind"], me["station"], me["compounds"]) == ("officer", "dongfeng", ["taoyuan"])
    me = await get_json(client, "/api/me?lang=en", world.tokens.station_admin)
    assert (me["kind"], me["station"], me["compounds"], me["locale"]) == (
        "admin", "xinhua", ["meiyuan"], "en")


async def test_compounds_overview_figures(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/compounds", world.tokens.admin)
    by_slug = {c["slug"]: c for c in body["compounds"]}
    assert set(by_slug) == {"meiyuan", "taoyuan"}
    assert {k: by_slug["meiyuan"][k] for k in MEIYUAN_TOTAL} == MEIYUAN_TOTAL
    assert {k: by_slug["taoyuan"][k] for k in TAOYUAN_TOTAL} == TAOYUAN_TOTAL
    assert (by_slug["meiyuan"]["station"], by_slug["meiyuan"]["name"]) == ("xinhua", "梅园小区")
    assert body["total"]["households"] == 6
    assert body["total"]["households_enrolled"] == 2
    assert body["total"]["coverage_percent"] == 33.3
    # an officer sees their station's compounds only; nothing personal, nothing audited
    body = await get_json(client, "/api/compounds", world.tokens.officer)
    assert [c["slug"] for c in body["compounds"]] == ["meiyuan"]
    assert await audit_actions(world, f"token:{world.tokens.ids['officer']}") == []


async def test_compound_figures_pending_and_unenrolled_are_audited(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/compounds/meiyuan", world.tokens.officer)
    assert {k: body["compound"][k] for k in MEIYUAN_TOTAL} == MEIYUAN_TOTAL
    assert body["buildings"] == MEIYUAN_BUILDINGS
    assert body["unenrolled"] == MEIYUAN_UNENROLLED
    assert [(p["user_id"], p["state"]) for p in body["pending"]] == [
        (DAVE, "pending"), (ERIN, "locked")]
    locked = body["pending"][1]
    assert locked["locked_until"] == (world.clock.now() + timedelta(hours=24)).isoformat()
    assert body["pending"][0]["deadline"] == (world.clock.now() + timedelta(hours=72)).isoformat()
    text = str(body)
    assert not any(name in text for name in ("张伟", "李娜", "王芳", "Anna"))
    assert not any(phone in text for phone in PHONES)
    entries = [e for e in await world.verification.audit.recent(50)
               if e.actor == f"token:{world.tokens.ids['officer']}"]
    assert [(e.action, e.target, e.compound_id, e.station_id) for e in entries] == [
        ("dashboard.compound", "compound:meiyuan", world.meiyuan.id, world.xinhua.id)]
    assert entries[0].details["via"] == "api"
    assert entries[0].details["pending"] == 2 and entries[0].details["unenrolled"] == 2


async def test_snapshots_give_coverage_over_time(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/compounds/meiyuan/snapshots", world.tokens.admin)
    assert [(s["day"], s["coverage_percent"]) for s in body["snapshots"]] == [
        (d.isoformat(), pct) for d, pct in zip(history_days(world), (0.0, 25.0, 50.0),
                                               strict=True)]
    body = await get_json(client, "/api/compounds/meiyuan/snapshots?days=2",
                          world.tokens.admin)
    assert len(body["snapshots"]) == 2
    # the feature's tick adds today's row from live figures
    await app_feature(client).tick(world.clock.now())
    body = await get_json(client, "/api/compounds/meiyuan/snapshots", world.tokens.admin)
    assert body["snapshots"][-1]["coverage_percent"] == 50.0
    assert len(body["snapshots"]) == 4
    for bad in ("0", "x", "99999"):
        err = await get_json(client, f"/api/compounds/meiyuan/snapshots?days={bad}",
                             world.tokens.admin, 400)
        assert err["errcode"] == "M_INVALID_PARAM"


def app_feature(client: TestClient) -> Any:  # type: ignore[type-arg]
    return client.app[FEATURE]


async def test_visit_sheet_names_for_officers_only_never_phones(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/compounds/meiyuan/visits", world.tokens.officer)
    assert body["households"] == [
        {"building": "3", "unit": "2", "flat": "302", "people": ["叶西·卓玛（租户）"],
         "has_code": True},
        {"building": "5", "unit": "1", "flat": "102", "people": ["王芳（户主）"],
         "has_code": True},
    ]
    assert not any(phone in str(body) for phone in PHONES)
    body = await get_json(client, "/api/compounds/meiyuan/visits?building=5&lang=en",
                          world.tokens.officer)
    assert body["households"] == [{"building": "5", "unit": "1", "flat": "102",
                                   "people": ["王芳 (owner)"], "has_code": True}]
    visits = [e for e in await world.verification.audit.recent(50)
              if e.action == "dashboard.visits"]
    assert [(e.details["building"], e.details["households"], e.details["people"])
            for e in visits] == [("5", 1, 1), (None, 2, 2)]
    for token in (world.tokens.admin, world.tokens.station_admin):
        err = await get_json(client, "/api/compounds/meiyuan/visits", token, 403)
        assert err["errcode"] == "M_FORBIDDEN"


async def test_questions_open_and_response_times(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/questions", world.tokens.admin)
    assert body["week"] == "2026-W10"
    assert body["open_total"] == 2
    assert [(q["compound"], q["topic"], q["flagged"], q["waiting"]) for q in body["open"]] == [
        ("梅园小区", "household", "flag", 3000.0), ("桃园小区", "noise", None, 600.0)]
    assert body["open"][0]["link"] == "https://matrix.to/#/!room:hs/$q1?via=hs"
    assert "text" not in body["open"][0] and "asker" not in body["open"][0]
    assert (body["total"]["asked"], body["total"]["answered"], body["total"]["median"]) == (
        3, 1, 600.0)
    assert body["total"]["within_deadline_percent"] == 50.0  # q1 late, q2 in time, q3 not due
    assert body["staff"] == [{"staff": "王警官", "asked": 1, "answered": 1,
                              "answered_percent": 100.0, "median": 600.0, "p90": 600.0,
                              "within_deadline_percent": 100.0, "good_percent": None}]
    assert [w["week"] for w in body["weeks"]] == ["2026-W10"]
    body = await get_json(client, "/api/questions", world.tokens.other_officer)
    assert body["open_total"] == 1 and [c["compound"] for c in body["compounds"]] == ["桃园小区"]
    assert body["staff"] == []
    body = await get_json(client, "/api/questions?week=2026-W09", world.tokens.admin)
    assert body["total"]["asked"] == 0 and body["open_total"] == 2
    err = await get_json(client, "/api/questions?week=soon", world.tokens.admin, 400)
    assert err["errcode"] == "M_INVALID_PARAM"


async def test_audit_log_is_scoped_to_the_station_and_audited(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    body = await get_json(client, "/api/audit", world.tokens.officer)
    actions = [e["action"] for e in body["entries"]]
    assert "verification.verify" in actions and "moderation.kick" not in actions
    assert all(e["compound"] in ("meiyuan", None) for e in body["entries"])
    body = await get_json(client, "/api/audit", world.tokens.admin)
    kick = [e for e in body["entries"] if e["action"] == "moderation.kick"]
    assert kick and kick[0]["details"] == {"reason": "spam"} and kick[0]["compound"] == "taoyuan"
    # reading the audit log is itself in the audit log, with the reader's station
    body = await get_json(client, "/api/audit?action=dashboard.audit", world.tokens.officer)
    assert [(e["actor"], e["action"]) for e in body["entries"]] == [
        (f"token:{world.tokens.ids['officer']}", "dashboard.audit")]
    body = await get_json(client, "/api/audit?limit=1", world.tokens.admin)
    assert len(body["entries"]) == 1
    err = await get_json(client, "/api/audit?limit=0", world.tokens.admin, 400)
    assert err["errcode"] == "M_INVALID_PARAM"


# ---- CSV ---------------------------------------------------------------------------------------


async def read_csv(client: TestClient, path: str, token: str  # type: ignore[type-arg]
                   ) -> tuple[list[list[str]], Any]:
    resp = await client.get(path, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    raw = await resp.read()
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))), resp


async def test_csv_exports_have_localised_headers_and_known_rows(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    rows, resp = await read_csv(client, "/api/compounds/meiyuan/buildings.csv",
                                world.tokens.admin)
    assert 'filename="meiyuan-buildings.csv"' in resp.headers["Content-Disposition"]
    assert rows == [
        ["楼栋", "登记户数", "已入群户数", "覆盖率 %", "已验证成员", "超出上限户数"],
        ["3", "2", "1", "50.0", "2", "1"],
        ["5", "2", "1", "50.0", "1", "0"],
    ]
    rows, _ = await read_csv(client, "/api/compounds/meiyuan/unenrolled.csv?lang=en",
                             world.tokens.admin)
    assert rows == [["Building", "Unit", "Households", "Flats"], ["3", "2", "1", "302"],
                    ["5", "1", "1", "102"]]
    rows, _ = await read_csv(client, "/api/compounds.csv", world.tokens.admin)
    assert rows[0][:3] == ["简称", "小区", "派出所"]
    assert rows[1][:5] == ["meiyuan", "梅园小区", "新华派出所", "4", "2"]
    rows, _ = await read_csv(client, "/api/compounds/meiyuan/pending.csv", world.tokens.admin)
    assert [r[:2] for r in rows[1:]] == [[DAVE, "待验证"], [ERIN, "已锁定"]]
    rows, _ = await read_csv(client, "/api/compounds/meiyuan/snapshots.csv", world.tokens.admin)
    assert [r[3] for r in rows[1:]] == ["0.0", "25.0", "50.0"]
    rows, _ = await read_csv(client, "/api/questions/open.csv?lang=en", world.tokens.admin)
    assert [r[1:3] for r in rows[1:]] == [["household registration / ID", "no"],
                                          ["noise", "no"]]
    rows, _ = await read_csv(client, "/api/compounds/meiyuan/visits.csv", world.tokens.officer)
    assert rows[1] == ["3", "2", "302", "叶西·卓玛（租户）", "是"]
    rows, _ = await read_csv(client, "/api/audit.csv", world.tokens.admin)
    assert rows[0] == ["时间", "操作者", "操作", "对象", "小区", "详情"]
    actions = [e.action for e in await world.verification.audit.recent(100)
               if e.actor.startswith("token:")]
    # buildings, compounds, snapshots and question figures are counts: not audited
    assert sorted(set(actions)) == ["dashboard.audit", "dashboard.pending",
                                    "dashboard.unenrolled", "dashboard.visits"]


async def test_csv_cells_cannot_become_spreadsheet_formulas(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    await world.community.create_compound(
        slug="evil", name="=HYPERLINK(\"http://x\")", station_id=world.xinhua.id, room_id=None,
    )
    await world.reload()
    rows, _ = await read_csv(client, "/api/compounds.csv", world.tokens.admin)
    assert [r[1] for r in rows if r[0] == "evil"] == ["'=HYPERLINK(\"http://x\")"]


# ---- sessions and pages ------------------------------------------------------------------------


async def login(client: TestClient, token: str, lang: str | None = None  # type: ignore[type-arg]
                ) -> Any:
    path = "/dashboard/login" + (f"?lang={lang}" if lang else "")
    return await client.post(path, data={"token": token}, allow_redirects=False)


async def test_login_sets_a_strict_http_only_session_cookie_without_the_token(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    resp = await login(client, world.tokens.officer)
    assert resp.status == 303 and resp.headers["Location"] == "/dashboard/"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("linli_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert world.tokens.officer not in cookie and world.tokens.officer[6:] not in cookie
    assert "Secure" not in cookie
    page = await client.get("/dashboard/")
    assert page.status == 200
    text = await page.text()
    assert "梅园小区" in text and "桃园小区" not in text
    assert world.tokens.officer not in text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["Cache-Control"] == "no-store"
    # the cookie opens the API as well (CSV links on the pages)
    assert (await client.get("/api/compounds/meiyuan/buildings.csv")).status == 200
    me = await (await client.get("/api/me")).json()
    assert me["token_id"] == world.tokens.ids["officer"]
    assert "dashboard.login" in await audit_actions(world, f"token:{world.tokens.ids['officer']}")


async def test_bad_login_and_pages_without_a_session(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    resp = await login(client, world.tokens.revoked)
    assert resp.status == 401 and "Set-Cookie" not in resp.headers
    assert "令牌无效或已被吊销" in await resp.text()
    resp = await login(client, "", lang="en")
    assert resp.status == 401 and "The token is invalid or revoked." in await resp.text()
    for path in ("/dashboard/", "/dashboard/compounds/meiyuan", "/dashboard/audit",
                 "/dashboard/questions", "/dashboard/compounds/meiyuan/visits"):
        resp = await client.get(path, allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (303, "/dashboard/login"), path
    resp = await client.get("/dashboard/login")
    assert resp.status == 200 and 'type="password"' in await resp.text()


async def test_a_session_ends_with_logout_expiry_or_revocation(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    await login(client, world.tokens.admin)
    assert (await client.get("/api/me")).status == 200
    resp = await client.post("/dashboard/logout", allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/api/me")).status == 401

    await login(client, world.tokens.admin)
    world.clock.advance(timedelta(hours=8))
    assert (await client.get("/api/me")).status == 401

    await login(client, world.tokens.station_admin)
    assert (await client.get("/api/me")).status == 200
    await TokenService(WebTokenRepository(world.db, world.clock), world.clock).revoke(
        world.tokens.ids["station_admin"])
    assert (await client.get("/api/me")).status == 401


async def test_cross_site_posts_are_refused(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    resp = await client.post("/dashboard/login", data={"token": world.tokens.admin},
                             headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert resp.status == 403 and "Set-Cookie" not in resp.headers
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1"}):
        resp = await client.post("/dashboard/login", data={"token": world.tokens.admin},
                                 headers=headers, allow_redirects=False)
        assert resp.status == 403, headers
    resp = await client.post("/dashboard/login", data={"token": world.tokens.admin},
                             headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert resp.status == 303
    await client.post("/dashboard/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert (await client.get("/api/me")).status == 200  # a cross-site logout does nothing


async def test_pages_show_figures_escape_text_and_refuse_other_stations(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    await world.community.create_compound(
        slug="xss", name="<script>alert(1)</script>", station_id=world.xinhua.id, room_id=None,
    )
    await world.reload()
    await login(client, world.tokens.officer)
    text = await (await client.get("/dashboard/")).text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'value="50.0"' in text  # meiyuan's coverage bar
    page = await client.get("/dashboard/compounds/meiyuan")
    text = await page.text()
    assert page.status == 200
    for expected in ("梅园小区", "302", "102", DAVE, ERIN, "上门走访单"):
        assert expected in text, expected
    assert "张伟" not in text and "王芳" not in text
    assert not any(phone in text for phone in PHONES)
    text = await (await client.get("/dashboard/compounds/meiyuan?lang=en")).text()
    assert "Households with nobody enrolled" in text and '<html lang="en">' in text
    # the language choice sticks to the session
    text = await (await client.get("/dashboard/questions")).text()
    assert "Open questions" in text and "王警官" in text
    text = await (await client.get("/dashboard/compounds/meiyuan/visits?lang=zh-CN")).text()
    assert "王芳（户主）" in text and "叶西·卓玛（租户）" in text
    assert not any(phone in text for phone in PHONES)
    resp = await client.get("/dashboard/compounds/taoyuan")
    unknown = await client.get("/dashboard/compounds/nowhere")
    assert resp.status == unknown.status == 404
    assert "没有您可查看的小区“taoyuan”" in await resp.text()
    assert "没有您可查看的小区“nowhere”" in await unknown.text()
    text = await (await client.get("/dashboard/audit")).text()
    assert "dashboard.visits" in text and "moderation.kick" not in text


async def test_metrics_report_enrolment_per_compound(
    client: TestClient, world: DashWorld  # type: ignore[type-arg]
) -> None:
    await app_feature(client).tick(world.clock.now())
    text = await (await client.get("/metrics")).text()
    for line in (
        'linli_enrolment_households{compound="meiyuan",station="xinhua"} 4',
        'linli_enrolment_households_covered{compound="meiyuan",station="xinhua"} 2',
        'linli_enrolment_coverage_ratio{compound="meiyuan",station="xinhua"} 0.5',
        'linli_enrolment_coverage_ratio{compound="taoyuan",station="dongfeng"} 0',
        'linli_enrolment_members{compound="meiyuan",state="verified",station="xinhua"} 3',
        'linli_enrolment_members{compound="meiyuan",state="pending",station="xinhua"} 1',
        'linli_enrolment_members{compound="meiyuan",state="locked",station="xinhua"} 1',
        'linli_enrolment_households_over_cap{compound="meiyuan",station="xinhua"} 1',
        "linli_enrolment_snapshots_written_total 2",
    ):
        assert line in text.splitlines(), line
