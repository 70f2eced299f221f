"""The aiohttp application: ``/healthz``, ``/metrics`` and the dashboard routes features add."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from linli.bot.web.metrics import MetricSource, Sample, render

log = logging.getLogger(__name__)


def json_error(status: int, errcode: str, error: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": error}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.monotonic()
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        from linli.bot.errors import new_ref

        ref = new_ref()
        log.exception("web request %s %s failed (ref: %s)", request.method, request.path, ref)
        return json_error(500, "M_UNKNOWN", f"something went wrong (ref: {ref})")
    finally:
        log.debug("%s %s in %.1f ms", request.method, request.path,
                  (time.monotonic() - started) * 1000)


def build_web_app(
    *,
    health: Callable[[], Any],
    metric_sources: list[MetricSource],
) -> web.Application:
    app = web.Application(middlewares=[errors_middleware])

    async def healthz(request: web.Request) -> web.Response:
        report = await health()
        status = 200 if report["ok"] else 503
        return web.json_response(report, status=status)

    async def metrics(request: web.Request) -> web.Response:
        samples: list[Sample] = []
        for source in metric_sources:
            try:
                samples.extend(await source())
            except Exception:
                log.exception("a metrics source failed; the others are still reported")
        return web.Response(text=render(samples), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


class WebServer:
    """Runs the aiohttp app beside the bot and stops it on shutdown."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None and server.sockets:  # type: ignore[union-attr]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("web app on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
