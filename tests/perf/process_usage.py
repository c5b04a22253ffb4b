"""CPU seconds, busiest second and peak memory of named processes during a bench run, read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 1.0


def cpu_seconds(pid: int) -> float | None:
    """User plus system time of the process (every thread) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the most resident memory the process has held."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (all cores), from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


@dataclass
class Usage:
    name: str
    cpu_seconds: float = 0.0
    busiest_cores: float = 0.0  # the most cores it used over one sample second
    peak_rss_mb: float | None = None

    def cores(self, wall_seconds: float) -> float:
        return self.cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0


@dataclass
class UsageReport:
    wall_seconds: float = 0.0
    processes: dict[str, Usage] = field(default_factory=dict)
    machine_cpu_seconds: float = 0.0
    peaks: dict[str, float] = field(default_factory=dict)  # the largest value each gauge read
    started_at: datetime | None = None


@contextlib.asynccontextmanager
async def watched(pids: Mapping[str, Callable[[], int | None]], gauges: Mapping[str, Callable[[], float]],
                  report: UsageReport) -> AsyncIterator[None]:
    """While the block runs: each second, each process's CPU (by pid, looked up again each time) and each gauge."""
    loop = asyncio.get_running_loop()
    start_cpu = {name: cpu_seconds(found) if (found := pid()) else None for name, pid in pids.items()}
    last = dict(start_cpu)
    start_machine, start_wall = machine_busy_seconds(), loop.time()
    report.processes = {name: Usage(name) for name in pids}

    async def sample() -> None:
        previous = loop.time()
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            now_at, elapsed = loop.time(), max(loop.time() - previous, SAMPLE_SECONDS)
            previous = now_at
            for name, pid in pids.items():
                found = pid()
                now = cpu_seconds(found) if found else None
                if now is not None and last[name] is not None:
                    usage = report.processes[name]
                    usage.busiest_cores = max(usage.busiest_cores, (now - (last[name] or 0)) / elapsed)
                last[name] = now
            for name, read in gauges.items():
                with contextlib.suppress(Exception):
                    report.peaks[name] = max(report.peaks.get(name, 0.0), float(read()))

    sampler = asyncio.create_task(sample())
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        report.wall_seconds = loop.time() - start_wall
        report.machine_cpu_seconds = machine_busy_seconds() - start_machine
        for name, pid in pids.items():
            found = pid()
            end = cpu_seconds(found) if found else None
            usage = report.processes[name]
            if end is not None and start_cpu[name] is not None:
                usage.cpu_seconds = end - (start_cpu[name] or 0.0)
            usage.peak_rss_mb = peak_rss_mb(found) if found else None
