"""The backend as its own process (`python -m callcenter serve`), configured through its environment, to be killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from callcenter.platform.settings import Settings, variable_name
from tests.support.paths import REPO_ROOT


def settings_environment(settings: Settings) -> dict[str, str]:
    """The variables that make a process load ``settings`` (the fields set explicitly, plus the database)."""
    fields = settings.model_fields_set | {"database_url", "web_port", "environment"}
    environment = {}
    for field in fields:
        value = getattr(settings, field)
        if value is None:
            continue
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        environment[variable_name(field)] = text
    return environment


class BackendProcess:
    """Started, SIGKILLed and started again like a crashed service; its output goes to ``log``. ``command``:
    ``serve`` (Asterisk already running) or ``run`` (which provisions and supervises Asterisk itself)."""

    def __init__(self, settings: Settings, *, log: Path, command: str = "serve") -> None:
        self.settings = settings
        self._arguments = ["run"] if command == "run" else [command, "--migrated"]
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO_ROOT),
                             **settings_environment(settings)}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    def start(self, timeout: float = 90) -> None:
        """Returns once /healthz says every part is up (the AMI bridge resynced from Asterisk)."""
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "callcenter", *self._arguments], cwd=REPO_ROOT,
                env=self._environment, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the backend did not come up: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, sockets close as the kernel drops them."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
