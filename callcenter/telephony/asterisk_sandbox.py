"""Provide Asterisk: the system one if installed, else a Debian-sid chroot we build; start, stop, status."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from callcenter.platform.errors import AsteriskSandboxError
from callcenter.platform.settings import Settings

log = logging.getLogger(__name__)

CHROOT_NAME = "asterisk-sid"
READY_MARKER = ".pasokh-ready"
CHROOT_PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm")
# Inside the chroot these trees belong to the asterisk uid; root here lacks DAC override on them.
CHROOT_OWNED_TREES = (
    "etc/asterisk", "var/lib/asterisk", "var/spool/asterisk",
    "var/log/asterisk", "var/cache/asterisk", "usr/share/asterisk",
)
STOCK_DIRECTORIES = {
    "astmoddir": "/usr/lib/x86_64-linux-gnu/asterisk/modules",
    "astvarlibdir": "/var/lib/asterisk",
    "astkeydir": "/var/lib/asterisk",
    "astdatadir": "/usr/share/asterisk",
    "astagidir": "/usr/share/asterisk/agi-bin",
    "astcachedir": "/var/cache/asterisk",
    "astsbindir": "/usr/sbin",
}


@dataclass(frozen=True)
class AsteriskRuntime:
    """Where an Asterisk binary lives (``/`` for the system one, else a chroot) and one instance's folder."""

    root: Path
    instance_dir: PurePosixPath  # as Asterisk sees it

    @property
    def is_chroot(self) -> bool:
        return self.root != Path("/")

    def host_path(self, inner: PurePosixPath | str) -> Path:
        """The host's path for a path that Asterisk sees."""
        return self.root / str(inner).lstrip("/")

    @property
    def config_file(self) -> PurePosixPath:
        return self.instance_dir / "etc" / "asterisk.conf"

    @property
    def sounds_dir(self) -> PurePosixPath:
        return self.instance_dir / "sounds"

    @property
    def recordings_dir(self) -> PurePosixPath:
        return self.instance_dir / "recordings"

    def command(self, *args: str) -> list[str]:
        base = ["asterisk", "-C", str(self.config_file), *args]
        return ["chroot", str(self.root), *base] if self.is_chroot else base

    def stock_directories(self) -> dict[str, str]:
        """The binary's own module/data folders, read from its packaged asterisk.conf."""
        found = dict(STOCK_DIRECTORIES)
        stock = self.host_path("/etc/asterisk/asterisk.conf")
        if stock.exists():
            for match in re.finditer(r"^(ast\w+dir)\s*=>\s*(\S+)", stock.read_text(), re.MULTILINE):
                if match.group(1) in found:
                    found[match.group(1)] = match.group(2)
        return found


def runtime_for(settings: Settings) -> AsteriskRuntime:
    """The system Asterisk when one is on PATH, else the project's chroot (built on demand)."""
    if shutil.which("asterisk"):
        instance = PurePosixPath(str(settings.state_dir)) / "asterisk" / settings.asterisk_instance
        return AsteriskRuntime(root=Path("/"), instance_dir=instance)
    return AsteriskRuntime(
        root=settings.asterisk_cache_dir / CHROOT_NAME,
        instance_dir=PurePosixPath("/opt/pasokh") / settings.asterisk_instance,
    )


def ensure_installed(runtime: AsteriskRuntime) -> None:
    """Build the sid chroot if it is missing; a half-built one (no marker) is thrown away and rebuilt."""
    if not runtime.is_chroot or (runtime.root / READY_MARKER).exists():
        return
    if os.geteuid() != 0:
        raise AsteriskSandboxError("building the Asterisk chroot needs root (debootstrap, chroot)")
    build_dir = runtime.root.with_name(runtime.root.name + ".building")
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.rmtree(runtime.root, ignore_errors=True)
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    log.info("building the Asterisk chroot in %s (about a minute)", build_dir)
    _run(["debootstrap", "--variant=minbase", "sid", str(build_dir), debian_mirror()])
    in_chroot = ["chroot", str(build_dir), "env", "DEBIAN_FRONTEND=noninteractive"]
    _run([*in_chroot, "apt-get", "-o", "Acquire::Check-Valid-Until=false", "update"])
    _run([*in_chroot, "apt-get", "install", "-y", "--no-install-recommends", *CHROOT_PACKAGES])
    for tree in CHROOT_OWNED_TREES:
        _run(["chown", "-R", "root:root", str(build_dir / tree)])
    (build_dir / READY_MARKER).write_text("ok\n")
    build_dir.rename(runtime.root)


def debian_mirror(
    sources: tuple[Path, ...] = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")),
) -> str:
    """The Debian mirror apt already uses (never a hard-coded host)."""
    for path in sources:
        if not path.exists():
            continue
        text = path.read_text()
        deb822 = re.search(r"^URIs:\s*(\S+)", text, re.MULTILINE)
        if deb822:
            return deb822.group(1)
        classic = re.search(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE)
        if classic:
            return classic.group(1)
    raise AsteriskSandboxError("no Debian mirror found in apt's sources")


def _run(cmd: list[str], *, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AsteriskSandboxError(
            f"command failed: {' '.join(cmd)}", returncode=result.returncode, stderr=result.stderr[-2000:]
        )
    return result


class AsteriskProcess:
    """Start, stop and query one Asterisk instance whose config was rendered into ``runtime``."""

    def __init__(self, runtime: AsteriskRuntime) -> None:
        self.runtime = runtime
        self._child: subprocess.Popen[bytes] | None = None

    def cli(self, command: str, *, timeout: float = 10) -> str:
        """Run one CLI command over the control socket (``asterisk -rx``)."""
        result = subprocess.run(
            self.runtime.command("-rx", command), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise AsteriskSandboxError("Asterisk CLI failed", command=command, stderr=result.stderr.strip())
        return result.stdout

    def is_running(self) -> bool:
        try:
            return "Asterisk" in self.cli("core show version", timeout=5)
        except (AsteriskSandboxError, subprocess.TimeoutExpired):
            return False

    def start(self, *, wait_seconds: float = 30) -> None:
        if self.is_running():
            return
        log_dir = self.runtime.host_path(self.runtime.instance_dir / "log")
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "console.out", "ab") as out:
            self._child = subprocess.Popen(
                self.runtime.command("-f", "-U", "root", "-G", "root"),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            try:
                self.cli("core waitfullybooted", timeout=5)
                return
            except (AsteriskSandboxError, subprocess.TimeoutExpired):
                time.sleep(0.2)
        raise AsteriskSandboxError("Asterisk did not boot", log=str(log_dir / "console.out"))

    def stop(self, *, wait_seconds: float = 15) -> None:
        if not self.is_running():
            return
        pid = self._pid()
        try:
            self.cli("core stop now", timeout=10)
        except (AsteriskSandboxError, subprocess.TimeoutExpired):
            log.warning("core stop now failed; killing Asterisk")
        deadline = time.monotonic() + wait_seconds
        while pid and self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid and self._alive(pid):
            os.kill(pid, 9)
            self._alive(pid)  # reap it

    def has_exited(self) -> bool:
        """Asterisk's process is gone (crashed, killed, stopped): our child reaped, else its pid file's pid dead.
        Cheap enough to ask twice a second (no CLI round trip)."""
        if self._child is not None:
            return self._child.poll() is not None
        pid = self._pid()
        return pid is None or not self._alive(pid)

    def exit_code(self) -> int | None:
        """Our child's exit status once it has exited (negative: the signal that ended it); None otherwise."""
        return self._child.poll() if self._child is not None else None

    def reload(self, module: str | None = None) -> None:
        self.cli(f"module reload {module}" if module else "core reload")

    def version(self) -> str:
        return self.cli("core show version").strip()

    def pid(self) -> int | None:
        """The running instance's process id, from its pid file (None when it is not running)."""
        return self._pid()

    def _pid(self) -> int | None:
        pid_file = self.runtime.host_path(self.runtime.instance_dir / "run" / "asterisk.pid")
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _alive(self, pid: int) -> bool:
        """Our own child must be reaped (poll), or it lingers as a zombie that still answers kill(pid, 0)."""
        if self._child is not None and self._child.pid == pid:
            return self._child.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
