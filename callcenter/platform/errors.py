"""Error classes with a stable kebab-case ``error_id``, a message and details (the API's error shape)."""

from __future__ import annotations

from typing import Any, ClassVar


class PasokhError(Exception):
    """Base of every error we raise on purpose; rendered as JSON by the web layer."""

    error_id: ClassVar[str] = "pasokh-error"
    status_code: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}


class ConfigurationError(PasokhError):
    error_id = "configuration-error"


class ValidationFailed(PasokhError):
    error_id = "invalid-data"
    status_code = 422


class NotFound(PasokhError):
    error_id = "not-found"
    status_code = 404


class InvalidTrackingCode(ValidationFailed):
    error_id = "invalid-tracking-code"


class NotAuthenticated(PasokhError):
    error_id = "not-authenticated"
    status_code = 401


class AccountLocked(PasokhError):
    error_id = "account-locked"
    status_code = 429


class RequestTooLarge(PasokhError):
    """A request body beyond its route's limit, refused by its declared length or as it streams in."""

    error_id = "request-too-large"
    status_code = 413


class PermissionDenied(PasokhError):
    error_id = "permission-denied"
    status_code = 403


class AsteriskUnavailable(PasokhError):
    error_id = "asterisk-unavailable"
    status_code = 503


class AmiActionRefused(PasokhError):
    """A relayed AMI request that is not one of the actions the backend sends (callcenter/telephony/ami_allowlist.py):
    never run. ``reason`` (English, field names only) is for the log."""

    error_id = "ami-action-refused"
    status_code = 503

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__("این فرمان به مرکز تلفن فرستاده نشد.", reason=reason, **details)


class AsteriskSandboxError(PasokhError):
    error_id = "asterisk-sandbox-error"


class SmsSendFailed(PasokhError):
    """The SMS provider refused a message or did not answer; the outbox retries it later."""

    error_id = "sms-send-failed"
    status_code = 502


class Conflict(PasokhError):
    """The request is valid but the thing it acts on has moved on (e.g. a callback already handled)."""

    error_id = "conflict"
    status_code = 409


class CallbackAlreadyClosed(Conflict):
    """Another operator closed the callback request first (or it was closed earlier)."""

    error_id = "callback-already-closed"


class WeakPassword(ValidationFailed):
    error_id = "weak-password"


class UsernameTaken(Conflict):
    error_id = "username-taken"


class ExtensionTaken(Conflict):
    error_id = "extension-taken"


class NoFreeExtension(Conflict):
    """Every extension in the role's range is held (inactive accounts keep theirs for reactivation)."""

    error_id = "no-free-extension"


class UnitNameTaken(Conflict):
    error_id = "unit-name-taken"


class CategoryNameTaken(Conflict):
    error_id = "category-name-taken"


class NoActiveCall(Conflict):
    """A call control (hold, transfer, hang up, listen) asked for an operator who is on no call."""

    error_id = "no-active-call"


class InvalidTransition(Conflict):
    """The action is not an edge of the ticket lifecycle from the ticket's current status."""

    error_id = "invalid-transition"


class LinesNeededForInbound(Conflict):
    """An outbound call would take a line inbound callers need (some are waiting, or the outbound share is full)."""

    error_id = "lines-needed-for-inbound"


class OutsideCallingHours(Conflict):
    """Citizens are not called at night or on holidays."""

    error_id = "outside-calling-hours"
