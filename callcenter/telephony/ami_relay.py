"""AMI actions for web-only workers: relayed through Redis to the one process that owns the AMI connection.

With several web workers only one process (the telephony process) connects to Asterisk's manager interface
(decision 6). A web worker's queue, call-control and ChanSpy actions travel as requests on a Redis list; the
telephony process runs each on its AMI bridge and pushes the answer (or the error) to a reply list that only
the asking worker reads. A request carries its deadline: one that waited out its time while the telephony
process was down is dropped, never run late (a queue login ten minutes after the click would surprise).
Only the actions the backend itself sends, in the form it sends them, are run (callcenter/telephony/ami_allowlist.py):
whoever can write to this Redis list must not be able to make Asterisk run anything else. The admin pages'
provisioning commands (callcenter/telephony/provisioner.py: pjsip.conf, a unit's spoken name) travel the same way,
allow-listed alike, so that only the telephony process writes Asterisk's files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from callcenter.platform.errors import (
    ASTERISK_FAILURES,
    AmiActionRefused,
    AsteriskRefused,
    AsteriskUnavailable,
    PasokhError,
)
from callcenter.platform.redis_connection import redis_client
from callcenter.telephony.ami_allowlist import checked_action, checked_command
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.provisioner import APPLY_PHONE_CHANGES, RENDER_UNIT_NAME_PROMPT, AsteriskProvisioner

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_SECONDS = 8.0  # the bridge's own action timeout (5 s) plus the trip through Redis
STATUS_INTERVAL_SECONDS = 3.0
STATUS_TTL_SECONDS = 10
# Rendering a prompt runs espeak-ng and sox, and pjsip.conf is followed by a PJSIP reload: seconds, not an action's
# milliseconds. A web worker that stops waiting only tells the administrator the change applies later.
COMMAND_TIMEOUT_SECONDS = 20.0

# What each provisioning command runs (its allowed form: ami_allowlist.COMMANDS).
_COMMANDS: dict[str, Callable[[AsteriskProvisioner, Mapping[str, str]], Awaitable[bool]]] = {
    APPLY_PHONE_CHANGES: lambda provisioner, _fields: provisioner.apply_phone_changes(),
    RENDER_UNIT_NAME_PROMPT: lambda provisioner, fields: provisioner.render_unit_name_prompt(fields["UnitName"]),
}


def _keys(namespace: str) -> tuple[str, str]:
    """(the requests list, the telephony process's status key)."""
    return f"{namespace}:ami:requests", f"{namespace}:ami:status"


class AmiRelayServer:
    """In the telephony process: runs relayed requests on the AMI bridge (provisioning commands on the
    provisioner) and publishes its status."""

    def __init__(self, *, redis_url: str, namespace: str, ami: AsteriskActions,
                 provisioner: AsteriskProvisioner | None = None, ca_file: str | None = None) -> None:
        self._redis: Redis = redis_client(redis_url, ca_file=ca_file, decode_responses=True)
        self._requests, self._status = _keys(namespace)
        self._ami = ami
        self._provisioner = provisioner
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for job in (self._serve(), self._publish_status()):
            task = asyncio.create_task(job)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError):
            await self._redis.delete(self._status)
        await self._redis.aclose()

    async def _serve(self) -> None:
        while True:
            try:
                popped = await self._redis.blpop([self._requests], timeout=1)
            except RedisError as exc:
                log.warning("AMI relay: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            if popped is not None:
                task = asyncio.create_task(self._answer(popped[1]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _answer(self, raw: str | bytes) -> None:
        request = self._well_formed(raw)
        if request is None:
            return
        try:
            self._admit(request)
        except AmiActionRefused as refused:
            log.warning("AMI relay: refused a relayed request (%s): %s", refused.details.get("action", "-"),
                        refused.details["reason"])
            await self._reply(request, {"ok": False, "error": refused.as_dict()})
            return
        if time.time() > float(request["deadline"]):
            log.warning("AMI relay: dropped a %s that waited past its deadline", _name(request))
            return
        try:
            reply = {"ok": True, "answer": await self._run(request)}
        except PasokhError as refused:
            reply = {"ok": False, "error": refused.as_dict(), "reason": getattr(refused, "reason", None)}
        await self._reply(request, reply)

    def _admit(self, request: dict[str, Any]) -> None:
        """Raises :class:`AmiActionRefused` unless the allowlist admits the request and this process can run it."""
        if "action" in request:
            checked_action(request["action"])
            return
        command = checked_command(request["command"])
        if self._provisioner is None:
            raise AmiActionRefused("this process does not provision Asterisk", action=command["Command"])

    async def _run(self, request: dict[str, Any]) -> Any:
        if "command" in request:
            command = request["command"]
            assert self._provisioner is not None  # _admit refused the command otherwise
            return await _COMMANDS[command["Command"]](self._provisioner, command)
        if request["as_list"]:
            return [dict(item) for item in await self._ami.action_list(request["action"])]
        return dict(await self._ami.action(request["action"]))

    def _well_formed(self, raw: str | bytes) -> dict[str, Any] | None:
        """The request as RelayedAmi writes it, or None (logged): anything else on the list is not ours."""
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        reply_prefix = f"{self._requests}:reply:"
        if not (isinstance(request, dict) and isinstance(request.get("deadline"), int | float)
                and isinstance(request.get("reply_to"), str) and request["reply_to"].startswith(reply_prefix)
                and len(request["reply_to"]) <= len(reply_prefix) + 64 and _one_kind(request)):
            log.warning("AMI relay: refused a malformed request on %s", self._requests)
            return None
        return request

    async def _reply(self, request: dict[str, Any], reply: dict[str, Any]) -> None:
        try:
            await self._redis.rpush(request["reply_to"], json.dumps(reply, default=str))
            await self._redis.expire(request["reply_to"], int(ANSWER_TIMEOUT_SECONDS) + 2)
        except RedisError:
            log.exception("AMI relay: could not return the answer to %s", _name(request))

    async def _publish_status(self) -> None:
        while True:
            status = {"connected": self._ami.connected, "asterisk_version": self._ami.asterisk_version}
            with contextlib.suppress(RedisError):
                await self._redis.set(self._status, json.dumps(status), ex=STATUS_TTL_SECONDS)
            await asyncio.sleep(STATUS_INTERVAL_SECONDS)


def _one_kind(request: dict[str, Any]) -> bool:
    """An AMI action (with whether its answer is a list) or a provisioning command, not both."""
    if "action" in request:
        return "command" not in request and isinstance(request["action"], dict) and isinstance(
            request.get("as_list"), bool)
    return isinstance(request.get("command"), dict)


def _name(request: dict[str, Any]) -> Any:
    """The action's or command's name, for the log (a well-formed request's)."""
    return request["action"].get("Action") if "action" in request else request["command"].get("Command")


class RelayedAmi(AsteriskActions):
    """In a web-only worker: the same actions as the bridge, sent to the telephony process through Redis."""

    def __init__(self, *, redis_url: str, namespace: str, answer_timeout: float = ANSWER_TIMEOUT_SECONDS,
                 command_timeout: float = COMMAND_TIMEOUT_SECONDS, ca_file: str | None = None) -> None:
        self._redis: Redis = redis_client(redis_url, ca_file=ca_file, decode_responses=True)
        self._requests, self._status_key = _keys(namespace)
        self._answer_timeout = answer_timeout
        self._command_timeout = command_timeout
        self._status: dict[str, Any] = {}
        self._watcher: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """As the telephony process last said (its status expires if it stops saying it)."""
        return bool(self._status.get("connected"))

    @property
    def asterisk_version(self) -> str | None:
        version = self._status.get("asterisk_version")
        return str(version) if version else None

    async def start(self) -> None:
        await self._read_status()
        self._watcher = asyncio.create_task(self._watch_status())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self._redis.aclose()

    async def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            await self._read_status()
        return self.connected

    async def _watch_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_SECONDS)
            await self._read_status()

    async def _read_status(self) -> None:
        try:
            raw = await self._redis.get(self._status_key)
        except RedisError:
            raw = None
        self._status = json.loads(raw) if raw else {}

    async def action(self, action: dict[str, str]) -> Mapping[str, Any]:
        answer: Mapping[str, Any] = await self._relay(action, as_list=False)
        return answer

    async def action_list(self, action: dict[str, str]) -> list[Mapping[str, Any]]:
        answer: list[Mapping[str, Any]] = await self._relay(action, as_list=True)
        return answer

    async def command(self, command: dict[str, str]) -> Any:
        """A provisioning command (callcenter/telephony/provisioner.py), run by the telephony process."""
        return await self._send({"command": command}, name=command.get("Command"), timeout=self._command_timeout)

    async def _relay(self, action: dict[str, str], *, as_list: bool) -> Any:
        return await self._send({"action": action, "as_list": as_list}, name=action.get("Action"),
                                timeout=self._answer_timeout)

    async def _send(self, body: dict[str, Any], *, name: str | None, timeout: float) -> Any:
        reply_to = f"{self._requests}:reply:{uuid.uuid4().hex}"
        request = {**body, "reply_to": reply_to, "deadline": time.time() + timeout}
        try:
            await self._redis.rpush(self._requests, json.dumps(request))
            popped = await self._redis.blpop([reply_to], timeout=timeout)
        except RedisError as exc:
            raise AsteriskUnavailable("Redis is unavailable", action=name) from exc
        if popped is None:
            raise AsteriskUnavailable("the telephony process did not answer", action=name)
        reply = json.loads(popped[1])
        if not reply["ok"]:
            raise _relayed_error(reply["error"], reply.get("reason"))
        return reply["answer"]


class RelayedProvisioner:
    """In a web-only worker: the admin pages' provisioning, run by the telephony process over the relay."""

    def __init__(self, relay: RelayedAmi) -> None:
        self._relay = relay

    async def apply_phone_changes(self) -> bool:
        return await self._run({"Command": APPLY_PHONE_CHANGES})

    async def render_unit_name_prompt(self, unit_name: str) -> bool:
        return await self._run({"Command": RENDER_UNIT_NAME_PROMPT, "UnitName": unit_name})

    async def _run(self, command: dict[str, str]) -> bool:
        try:
            return bool(await self._relay.command(command))
        except ASTERISK_FAILURES as exc:  # the change is saved; it applies when Asterisk is next provisioned
            log.warning("%s was not run by the telephony process (%s)", command["Command"], exc.reason)
            return False


def _relayed_error(error: dict[str, Any], reason: str | None) -> PasokhError:
    """The telephony process's error, raised again in the web worker: Asterisk away and Asterisk refusing stay
    themselves (code reads a refusal's reason); any other (the allowlist's refusal) means this action cannot run."""
    details = dict(error["details"])
    reason = reason or str(details.pop("reason", "") or error["error_id"])
    if error["error_id"] == AsteriskRefused.error_id:
        return AsteriskRefused(reason, **details)
    if error["error_id"] == AsteriskUnavailable.error_id:
        return AsteriskUnavailable(reason, **details)
    return AsteriskUnavailable(reason, message=error["message"], relayed_error_id=error["error_id"], **details)
