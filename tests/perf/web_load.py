"""HTTP load from wrk (Debian's package), a separate process: latency quantiles, throughput and errors per run.

Each run writes a small Lua script: the caller's ``request`` code (a GET of one path, or a form POST whose body
the script varies per request) and a ``done`` hook that prints wrk's own figures as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

RESULT_MARK = "WRK_RESULT "
# wrk's done() hook: its latency percentiles are in microseconds; errors by kind; non-2xx/3xx in errors.status.
_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "timeout": %d, "status": %d}\\n',
    "RESULT_MARK", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
""".replace("RESULT_MARK", RESULT_MARK)


@dataclass(frozen=True)
class WrkResult:
    name: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect, read, write and timeouts together
    bad_status: int  # answers that were not 2xx or 3xx

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.bad_status


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def get_script(path: str, *, headers: dict[str, str] | None = None) -> str:
    """Every request a GET of ``path``."""
    header_lines = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in (headers or {}).items())
    return f'wrk.method = "GET"\nwrk.path = "{path}"\n{header_lines}'


def form_post_script(path: str, *, body_lua: str, headers: dict[str, str] | None = None) -> str:
    """Every request a form POST of ``path``; ``body_lua`` is a Lua expression, evaluated per request, that may
    use ``counter`` (this thread's request number) and ``thread_id`` (set per thread) to make each body unique."""
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    header_lines = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in all_headers.items())
    return f"""
local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_id", threads_made)
end
counter = 0
wrk.method = "POST"
{header_lines}
request = function()
  counter = counter + 1
  return wrk.format("POST", "{path}", nil, {body_lua})
end
"""


def run_wrk(name: str, base_url: str, script: str, *, connections: int, seconds: int, threads: int = 2,
            timeout_s: int = 10) -> WrkResult:
    """One wrk run of ``seconds`` with ``connections`` open at once, driven by ``script``."""
    with tempfile.TemporaryDirectory(prefix="pasokh-wrk-") as folder:
        script_path = Path(folder) / "load.lua"
        script_path.write_text(script + _DONE)
        completed = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s",
             "-s", str(script_path), base_url],
            capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False,
        )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
    if completed.returncode != 0 or line is None:
        output = f"{completed.stdout[-2000:]} {completed.stderr[-2000:]}"
        raise RuntimeError(f"wrk failed ({completed.returncode}): {output}")
    figures = json.loads(line.removeprefix(RESULT_MARK))
    return WrkResult(
        name=name, connections=connections, requests=figures["requests"], seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000, p99_ms=figures["p99_us"] / 1000,
        socket_errors=figures["connect"] + figures["read"] + figures["write"] + figures["timeout"],
        bad_status=figures["status"],
    )
