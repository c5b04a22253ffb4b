"""Keeps the Asterisk that `python -m callcenter run` started alive: restarts it when it exits, with capped backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from callcenter.platform.errors import AsteriskSandboxError
from callcenter.platform.metrics import Metrics

log = logging.getLogger(__name__)


class SupervisedProcess(Protocol):
    """What the supervisor needs of :class:`~callcenter.telephony.asterisk_sandbox.AsteriskProcess`."""

    def has_exited(self) -> bool: ...

    def exit_code(self) -> int | None: ...

    def start(self, *, wait_seconds: float = 30) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Delays before each restart: first, doubled each time, capped; reset once Asterisk stayed up ``stable``."""

    first_seconds: float = 1.0
    max_seconds: float = 30.0
    stable_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        """The wait before restart number ``attempt`` (0 for the first since Asterisk was last stable)."""
        return min(self.first_seconds * 2 ** attempt, self.max_seconds)


class AsteriskSupervisor:
    """A thread watching Asterisk twice a second; stop() before stopping Asterisk on purpose, or it comes back.

    systemd does the same for a deployment (the unit's Restart=always with RestartSteps, ADR 0086); this is for
    `make run`, where Asterisk is the backend's child."""

    def __init__(self, process: SupervisedProcess, *, backoff: Backoff = Backoff(),
                 on_restart: Callable[[], None] = lambda: None, poll_seconds: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._process = process
        self._backoff = backoff
        self._on_restart = on_restart
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def count_restarts(self, metrics: Metrics) -> None:
        """Restarts from now on also counted in ``pasokh_asterisk_restarts`` (once the backend's metrics exist)."""
        self._on_restart = metrics.asterisk_restarts.inc

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._watch, name="asterisk-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=60)  # a start() under way finishes first (it waits for the boot)
            self._thread = None

    def _watch(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            up_since = self._clock()
            while not self._process.has_exited():
                if self._stopping.wait(self._poll_seconds):
                    return
            if self._clock() - up_since >= self._backoff.stable_seconds:
                attempt = 0
            delay = self._backoff.delay(attempt)
            log.warning("Asterisk exited (status %s); restarting it in %.1f s (restart %d in a row)",
                        self._process.exit_code(), delay, attempt + 1)
            if self._stopping.wait(delay):
                return
            attempt += 1
            self._restart()

    def _restart(self) -> None:
        try:
            self._process.start()
        except AsteriskSandboxError as exc:
            log.error("Asterisk did not come back: %s; trying again after the next delay", exc)
            return
        self.restarts += 1
        self._on_restart()
        log.info("Asterisk restarted (%d restarts since this process started)", self.restarts)
