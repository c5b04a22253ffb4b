"""A PostgreSQL server of a test's own (initdb + pg_ctl on a free loopback port, in its own folder) that the test
may stop and start again: the machine's shared PostgreSQL is never the one taken away."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.backend import free_port


def _server_binaries() -> Path:
    """PASOKH_TEST_POSTGRES_BIN, else Debian's newest installed server (/usr/lib/postgresql/<major>/bin)."""
    if configured := os.environ.get("PASOKH_TEST_POSTGRES_BIN"):
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


POSTGRES_BIN = _server_binaries()
DATABASE = "pasokh"
# initdb and the server refuse to run as root: as root, they run as the system's postgres account.
SERVER_ACCOUNT = "postgres"


def can_start_postgres() -> bool:
    """initdb and pg_ctl on this machine, and (as root) an account to run them as."""
    if not (POSTGRES_BIN / "initdb").exists() or not (POSTGRES_BIN / "pg_ctl").exists():
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        return False
    return shutil.which("runuser") is not None


@dataclass
class PrivatePostgres:
    """A running server; ``stop`` and ``start`` take it away and bring it back on the same port and data."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "20", "-l", str(self.folder / "server.log"),
                     "-o", f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder}"
                           " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the database's machine goes away."""
        self._pg_ctl("stop", "-w", "-t", "20", "-m", "fast")

    def _pg_ctl(self, *args: str) -> None:
        _run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), *args)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """initdb (trust on loopback), start, create the database; stopped and removed afterwards."""
    # Not under pytest's tmp_path: the server's account must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="pasokh-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_ACCOUNT)
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(folder=folder, port=free_port())
    try:
        _run(str(POSTGRES_BIN / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8")
        server.start()
        _run(str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", DATABASE)
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def wait_until_answering(server: PrivatePostgres, *, timeout: float = 20) -> None:
    """pg_isready until the server accepts connections again."""
    deadline = time.monotonic() + timeout
    while subprocess.run([str(POSTGRES_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port)],
                         capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the private PostgreSQL on port {server.port} did not come back")
        time.sleep(0.1)


def _run(*command: str) -> None:
    if os.geteuid() == 0:
        command = ("runuser", "-u", SERVER_ACCOUNT, "--", *command)
    subprocess.run(command, check=True, capture_output=True, cwd="/")
