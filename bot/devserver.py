"""A local Synapse homeserver from PyPI, for the demo and the integration tests.

It listens on 127.0.0.1 only, keeps its data in one folder, federates with nobody and uses a
registration shared secret for creating accounts (``/_synapse/admin/v1/register``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)


class HomeserverError(Exception):
    """The local homeserver could not be started or refused a request."""


@dataclass(frozen=True)
class Account:
    user_id: str
    access_token: str
    device_id: str
    password: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class LocalSynapse:
    """Start, stop and talk to one Synapse process."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        server_name: str = "linli.test",
        relaxed_rate_limits: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.server_name = server_name
        self.relaxed = relaxed_rate_limits
        self.proc: subprocess.Popen[bytes] | None = None
        self._secret_file = self.data_dir / "registration_secret"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "homeserver.log"

    # configuration ------------------------------------------------------------------
    def _secret(self) -> str:
        if not self._secret_file.exists():
            self._secret_file.write_text(secrets.token_hex(24))
        return self._secret_file.read_text().strip()

    def write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_path = self.data_dir / "signing.key"
        if not key_path.exists():
            from signedjson.key import generate_signing_key, write_signing_keys

            with key_path.open("w") as fh:
                write_signing_keys(fh, [generate_signing_key("a_linli")])
        log_config = self.data_dir / "log.yaml"
        log_config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {
                        "p": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "p",
                            "filename": str(self.log_file),
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        fast = {"per_second": 1000, "burst_count": 1000}
        limits: dict[str, Any] = {}
        if self.relaxed:
            limits = {
                "rc_message": fast,
                "rc_registration": fast,
                "rc_login": {"address": fast, "account": fast, "failed_attempts": fast},
                "rc_joins": {"local": fast, "remote": fast},
                "rc_joins_per_room": fast,
                "rc_invites": {"per_room": fast, "per_user": fast, "per_issuer": fast},
                "rc_room_creation": fast,
                "rc_admin_redaction": fast,
                "rc_3pid_validation": fast,
                "rc_presence": {"per_user": fast},
                "rc_delayed_event_mgmt": fast,
                "rc_reports": fast,
            }
        config = {
            "server_name": self.server_name,
            "pid_file": str(self.data_dir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3", "args": {"database": str(self.data_dir / "homeserver.db")}
            },
            "log_config": str(log_config),
            "media_store_path": str(self.data_dir / "media"),
            "signing_key_path": str(key_path),
            "registration_shared_secret": self._secret(),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "enable_media_repo": False,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "user_directory": {"enabled": False},
            "enable_metrics": False,
            "push": {"enabled": False},
            "bcrypt_rounds": 4,
            "background_updates": {"sleep_enabled": False},
            "macaroon_secret_key": self._secret() + "m",
            "form_secret": self._secret() + "f",
            **limits,
        }
        path = self.data_dir / "homeserver.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    # life cycle -----------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        if not port_is_free(self.port):
            raise HomeserverError(f"port {self.port} on 127.0.0.1 is already in use")
        cfg = self.write_config()
        env = dict(os.environ)
        env.pop("PYTHONWARNINGS", None)
        with (self.data_dir / "stdout.log").open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(cfg)],
                cwd=self.data_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.data_dir / "stdout.log").read_text(errors="replace")[-2000:]
                raise HomeserverError(f"Synapse exited with code {self.proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise HomeserverError(f"Synapse did not answer on {self.base_url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # requests ---------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise HomeserverError(f"{method} {path} -> {exc.code}: {detail}") from None

    def register(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> Account:
        """Create an account with the shared secret; returns its first access token."""
        password = password or secrets.token_urlsafe(12)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self._secret().encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([
            nonce.encode(), localpart.encode(), password.encode(),
            b"admin" if admin else b"notadmin",
        ]))
        result = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return Account(result["user_id"], result["access_token"], result["device_id"], password)

    def login(self, localpart: str, password: str) -> Account:
        result = self.request(
            "POST",
            "/_matrix/client/v3/login",
            {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": localpart},
             "password": password},
        )
        return Account(result["user_id"], result["access_token"], result["device_id"], password)

    def exempt_from_rate_limits(self, admin_token: str, user_id: str) -> None:
        """What a deployment does for the bot: Synapse's admin API ``override_ratelimit``."""
        self.request(
            "POST",
            f"/_synapse/admin/v1/users/{urllib.request.quote(user_id)}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            token=admin_token,
        )
