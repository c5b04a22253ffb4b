"""A redis-server of a test's own on a free loopback port, with a password and TLS (certificates made with
openssl for the test), to prove REDIS_URL with credentials and rediss:// works end to end; a test may restart it
(the same port, empty: no persistence), as an operator restarting Redis under the web workers."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.backend import free_port

PASSWORD = "redis-test-password-7f3a"


@dataclass(frozen=True)
class PrivateRedis:
    url: str  # with the password; rediss:// when TLS
    ca_file: str | None
    port: int
    # Stop the server (connections cut) and start it again on the same port, waiting until it answers.
    restart: Callable[[], None] = field(compare=False, repr=False)


def can_start_redis() -> bool:
    """redis-server and openssl on this machine (Debian's redis-server is built with TLS: it links libssl)."""
    return shutil.which("redis-server") is not None and shutil.which("openssl") is not None


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 signed by it: (ca, server cert, server key)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = folder / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: str | Path) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "1",
        "-subj", "/CN=Pasokh test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "1",
        "-extfile", ext)
    return ca, cert, key


@contextlib.contextmanager
def private_redis(folder: Path, *, tls: bool) -> Iterator[PrivateRedis]:
    """Start redis-server (password always, TLS if asked), wait until it answers, stop it afterwards."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder),
            "--requirepass", PASSWORD]
    ca_file: str | None = None
    if tls:
        ca, cert, key = make_certificates(folder)
        ca_file = str(ca)
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                 "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]
    else:
        args += ["--port", str(port)]
    url = f"{'rediss' if tls else 'redis'}://:{PASSWORD}@127.0.0.1:{port}/0"
    processes = [_started(args, url, ca_file)]

    def restart() -> None:
        _stopped(processes.pop())
        processes.append(_started(args, url, ca_file))

    try:
        yield PrivateRedis(url=url, ca_file=ca_file, port=port, restart=restart)
    finally:
        for process in processes:
            _stopped(process)


def _started(args: list[str], url: str, ca_file: str | None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_answering(url, ca_file, process)
    except BaseException:
        _stopped(process)
        raise
    return process


def _stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def _wait_until_answering(url: str, ca_file: str | None, process: subprocess.Popen[bytes]) -> None:
    options = {"ssl_ca_certs": ca_file} if ca_file else {}
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, **options)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
