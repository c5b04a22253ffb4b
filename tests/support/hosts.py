"""The project's own test hosts: two Linux network namespaces joined by a veth pair, each with a private address,
the processes started on them, and relays that carry a TCP service from one network into another."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"  # private to the pair: no other network sees it, so every test worker may use the same one
LINK = "pasokh0"  # the veth end's name inside each namespace (created there directly, never in the machine's)
_libc = ctypes.CDLL(None, use_errno=True)

Connector = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass(frozen=True)
class Host:
    """One network namespace with its address on the pair's link and its own loopback."""

    netns: str
    address: str

    def command(self, *args: str) -> list[str]:
        """``args`` run on this host (its network; the machine's files and users)."""
        return ["ip", "netns", "exec", self.netns, *args]

    async def make_socket(self, make: Callable[[], socket.socket]) -> socket.socket:
        """A socket made on this host's network by ``make``: a thread of its own enters the namespace (a socket
        stays in the namespace it was made in), so this process's other threads keep the machine's network."""
        made: list[socket.socket] = []
        failed: list[BaseException] = []

        def in_namespace() -> None:
            try:
                descriptor = os.open(NETNS_DIR / self.netns, os.O_RDONLY)
                try:
                    if _libc.setns(descriptor, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns into {self.netns}")
                finally:
                    os.close(descriptor)
                made.append(make())
            except BaseException as exc:  # handed to the awaiting coroutine
                failed.append(exc)

        thread = threading.Thread(target=in_namespace, name=f"netns-{self.netns}")
        thread.start()
        await asyncio.to_thread(thread.join)  # the thread ends with the socket made: its namespace dies with it
        if failed:
            raise failed[0]
        return made[0]

    async def open_connection(self, address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connected = await self.make_socket(lambda: socket.create_connection((address, port), timeout=5))
        connected.settimeout(None)
        return await asyncio.open_connection(sock=connected)

    async def listener(self, address: str, port: int) -> socket.socket:
        def make() -> socket.socket:
            listening = socket.socket()
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((address, port))
            listening.listen(128)
            return listening

        return await self.make_socket(make)


def can_make_hosts() -> bool:
    """Root with iproute2's ``ip netns`` (namespaces need CAP_SYS_ADMIN)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    return subprocess.run(["ip", "netns", "list"], capture_output=True, check=False).returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _delete_namespace(name: str) -> None:
    if (NETNS_DIR / name).exists():
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


@contextlib.contextmanager
def two_hosts(tag: str) -> Iterator[tuple[Host, Host]]:
    """Hosts A (``SUBNET``.1) and B (``SUBNET``.2) joined by a veth pair, named after ``tag`` (unique per test
    worker); deleted afterwards, and before, should a killed run have left them (the veth goes with them). Stop the
    processes started on them first: a namespace lives on while a process is in it."""
    hosts = (Host(f"pasokh-{tag}-a", f"{SUBNET}.1"), Host(f"pasokh-{tag}-b", f"{SUBNET}.2"))
    for host in hosts:
        _delete_namespace(host.netns)
    try:
        for host in hosts:
            _ip("netns", "add", host.netns)
            _ip("-n", host.netns, "link", "set", "lo", "up")
        a, b = hosts
        _ip("link", "add", LINK, "netns", a.netns, "type", "veth", "peer", "name", LINK, "netns", b.netns)
        for host in hosts:
            _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", LINK)
            _ip("-n", host.netns, "link", "set", LINK, "up")
        yield a, b
    finally:
        for host in hosts:
            _delete_namespace(host.netns)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def relay(listening: socket.socket, connect: Connector) -> AsyncIterator[None]:
    """Every connection accepted on ``listening`` is joined to one that ``connect`` opens (elsewhere: another
    network, another address), bytes both ways, until either side closes."""
    joined: set[asyncio.Task[object]] = set()

    async def join(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far_reader, far_writer = await connect()
        except OSError:
            writer.close()
            return
        task: asyncio.Task[object] = asyncio.ensure_future(
            asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer)))
        joined.add(task)
        task.add_done_callback(joined.discard)

    if listening.family == socket.AF_UNIX:
        server = await asyncio.start_unix_server(join, sock=listening)
    else:
        server = await asyncio.start_server(join, sock=listening)
    try:
        yield
    finally:
        server.close()
        for task in list(joined):
            task.cancel()
        await asyncio.gather(*joined, return_exceptions=True)


@contextlib.asynccontextmanager
async def machine_service_on(host: Host, port: int) -> AsyncIterator[None]:
    """The machine's service on 127.0.0.1:``port`` (its PostgreSQL, its Redis) answering at ``host``'s address,
    as a database host on that link would: the other host reaches it across the veth pair."""
    listening = await host.listener(host.address, port)
    async with relay(listening, lambda: asyncio.open_connection("127.0.0.1", port)):
        yield


@contextlib.asynccontextmanager
async def reachable_from_here(host: Host, port: int, path: Path) -> AsyncIterator[Path]:
    """``host``'s ``address:port`` at the Unix socket ``path`` of this (the machine's) network: the test's client
    talks HTTP and websockets to a host's worker through it (a Unix socket is a file, seen from every network)."""
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(str(path))
    listening.listen(128)
    async with relay(listening, lambda: host.open_connection(host.address, port)):
        yield path
