"""The supervisor `python -m callcenter run` puts over Asterisk: restarts after each exit, delays doubling to a cap."""

from __future__ import annotations

import threading

import pytest

from callcenter.platform.errors import AsteriskSandboxError
from callcenter.platform.metrics import Metrics
from callcenter.telephony.asterisk_supervisor import AsteriskSupervisor, Backoff


class CrashingAsterisk:
    """Exits as soon as it is started, ``crashes`` times (the first start fails ``failed_starts`` times); then stays
    up. Every start is noted."""

    def __init__(self, *, crashes: int, failed_starts: int = 0) -> None:
        self.crashes_left = crashes
        self.failed_starts = failed_starts
        self.starts = 0
        self.up_for_good = threading.Event()

    def has_exited(self) -> bool:
        return self.crashes_left > 0 or self.starts == 0

    def exit_code(self) -> int | None:
        return -9

    def start(self, *, wait_seconds: float = 30) -> None:
        self.starts += 1
        if self.failed_starts:
            self.failed_starts -= 1
            raise AsteriskSandboxError("Asterisk did not boot")
        self.crashes_left -= 1
        if self.crashes_left <= 0:
            self.up_for_good.set()


def test_given_the_first_second_and_later_restarts_when_delayed_then_delays_double_up_to_the_cap() -> None:
    backoff = Backoff(first_seconds=1, max_seconds=30)
    assert [backoff.delay(attempt) for attempt in range(7)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize("failed_starts", [0, 2])
def test_given_asterisk_crashing_repeatedly_when_supervised_then_it_is_restarted_each_time_and_counted(
    failed_starts: int, caplog: pytest.LogCaptureFixture,
) -> None:
    asterisk = CrashingAsterisk(crashes=3, failed_starts=failed_starts)
    metrics = Metrics()
    supervisor = AsteriskSupervisor(asterisk, backoff=Backoff(first_seconds=0.01, max_seconds=0.04),
                                    poll_seconds=0.01)
    supervisor.count_restarts(metrics)
    with caplog.at_level("WARNING"):
        supervisor.start()
        assert asterisk.up_for_good.wait(10)
        supervisor.stop()

    assert asterisk.starts == 3 + failed_starts
    assert supervisor.restarts == 3
    assert metrics.asterisk_restarts._value.get() == 3
    assert "Asterisk exited (status -9); restarting it in" in caplog.text
    assert ("did not come back" in caplog.text) == bool(failed_starts)

