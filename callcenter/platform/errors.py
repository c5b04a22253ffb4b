"""Every error the app raises on purpose: a stable kebab-case ``error_id``, an HTTP status, a Persian message.

The classes are the single list of what a client can be answered with: ``docs/errors.md`` is generated from them
(``python -m callcenter docs``), and the web layer renders any of them as JSON or as a Persian page
(agent_console/error_pages.py). A raise site may give a more specific Persian message than the class's
``default_message``; errors written for operators (``for_staff = False``: configuration, the sandbox, the SMS
provider) keep their English message for the log and answer staff with the Persian default.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PasokhError(Exception):
    """Base of every error we raise on purpose (never raised itself)."""

    error_id: ClassVar[str] = "pasokh-error"
    status_code: ClassVar[int] = 500
    default_message: ClassVar[str] = "خطایی پیش آمد؛ دوباره تلاش کنید."
    # False: ``message`` is English for the operator's log; staff see ``default_message`` instead.
    for_staff: ClassVar[bool] = True

    def __init__(self, message: str | None = None, **details: Any) -> None:
        message = self.default_message if message is None else message
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def staff_message(self) -> str:
        """What a person at a screen is shown: always Persian."""
        return self.message if self.for_staff else self.default_message

    def as_dict(self) -> dict[str, Any]:
        """The API's error body (agent_console/api_errors.py ErrorBody)."""
        details = self.details if self.for_staff else {}
        return {"error_id": self.error_id, "message": self.staff_message, "details": details}


class InternalError(PasokhError):
    """A bug: an exception nobody raised on purpose. The traceback goes to the log, never to the client."""

    error_id = "internal-error"
    default_message = "خطایی در سامانه پیش آمد؛ دوباره تلاش کنید و اگر تکرار شد به پشتیبانی خبر دهید."


class ConfigurationError(PasokhError):
    """A setting, a rendered Asterisk file or the demo data is not as it must be; the English message names what to
    fix (for the operator starting the service)."""

    error_id = "configuration-error"
    default_message = "پیکربندی سامانه ناقص است؛ به پشتیبانی خبر دهید."
    for_staff = False


class InvalidSetting(ConfigurationError, ValueError):
    """An environment variable whose value is not of its type or outside its range (named in the message)."""

    error_id = "invalid-setting"


class ValidationFailed(PasokhError):
    """The request's data is incomplete or wrong; ``details`` names the field (or lists the parser's errors)."""

    error_id = "invalid-data"
    status_code = 422
    default_message = "اطلاعات ارسال‌شده کامل یا درست نیست."


class InvalidTrackingCode(ValidationFailed):
    """A tracking code whose check digit does not match (a mistyped code)."""

    error_id = "invalid-tracking-code"
    default_message = "کد رهگیری درست نیست."


class WeakPassword(ValidationFailed):
    """A new password the password rules refuse."""

    error_id = "weak-password"
    default_message = "این گذرواژه به اندازه کافی قوی نیست."


class NotFound(PasokhError):
    """The ticket, account, unit, file or address asked for does not exist (or is not visible to this role)."""

    error_id = "not-found"
    status_code = 404
    default_message = "آنچه خواستید پیدا نشد."


class MethodNotAllowed(PasokhError):
    """The address exists but not for this HTTP method (the ``Allow`` header lists the ones it takes)."""

    error_id = "method-not-allowed"
    status_code = 405
    default_message = "این کار در این نشانی پذیرفته نیست."


class NotAuthenticated(PasokhError):
    """No session, an ended one, or a wrong name or password. A browser asking for a page is sent to /login."""

    error_id = "not-authenticated"
    status_code = 401
    default_message = "لطفاً دوباره وارد شوید."


class AccountLocked(PasokhError):
    """Too many failed logins for this name or address: wait (the login throttle)."""

    error_id = "account-locked"
    status_code = 429
    default_message = "به دلیل تلاش‌های ناموفق پیاپی، ورود موقتاً ممکن نیست؛ کمی بعد دوباره تلاش کنید."


class RateLimited(PasokhError):
    """Too many requests of one kind from one address, for one number or code, or with one API key: wait
    (callcenter/platform/rate_limits.py). ``retry_after`` (seconds) becomes the response's Retry-After."""

    error_id = "rate-limited"
    status_code = 429
    default_message = "تعداد درخواست‌ها از حد مجاز گذشته است؛ کمی بعد دوباره تلاش کنید."


class CsrfFailed(PasokhError):
    """A state-changing request without the session's CSRF token (a stale page, or another site's form)."""

    error_id = "csrf-failed"
    status_code = 403
    default_message = "نشست شما منقضی شده است؛ صفحه را دوباره بارگذاری کنید."


class PermissionDenied(PasokhError):
    """The account's role (or unit) may not do this."""

    error_id = "permission-denied"
    status_code = 403
    default_message = "اجازه این کار را ندارید."


class InvalidApiKey(PasokhError):
    """An Open311 request posted with a key that was never issued or has been revoked (callcenter/open311/keys.py)."""

    error_id = "invalid-api-key"
    status_code = 403
    default_message = "کلید دسترسی نامعتبر است یا باطل شده است."


class RequestTooLarge(PasokhError):
    """A request body beyond its route's limit, refused by its declared length or as it streams in."""

    error_id = "request-too-large"
    status_code = 413
    default_message = "حجم اطلاعات فرستاده‌شده بیش از حد مجاز است."


class Conflict(PasokhError):
    """The request is valid but the thing it acts on has moved on (e.g. a callback already handled)."""

    error_id = "conflict"
    status_code = 409
    default_message = "وضعیت این مورد در این فاصله تغییر کرده است؛ صفحه را دوباره بارگذاری کنید."


class CallbackAlreadyClosed(Conflict):
    """Another operator closed the callback request first (or it was closed earlier)."""

    error_id = "callback-already-closed"
    default_message = "این درخواست تماس پیش‌تر بسته شده است."


class UsernameTaken(Conflict):
    """Another account already has this username."""

    error_id = "username-taken"
    default_message = "این نام کاربری پیش‌تر گرفته شده است."


class ExtensionTaken(Conflict):
    """Another account already has this phone extension."""

    error_id = "extension-taken"
    default_message = "این شماره داخلی پیش‌تر گرفته شده است."


class NoFreeExtension(Conflict):
    """Every extension in the role's range is held (inactive accounts keep theirs for reactivation)."""

    error_id = "no-free-extension"
    default_message = "شماره داخلی آزادی برای این نقش باقی نمانده است."


class UnitNameTaken(Conflict):
    """Another unit already has this name."""

    error_id = "unit-name-taken"
    default_message = "واحدی با این نام پیش‌تر ثبت شده است."


class CategoryNameTaken(Conflict):
    """Another category already has this name."""

    error_id = "category-name-taken"
    default_message = "موضوعی با این نام پیش‌تر ثبت شده است."


class NoActiveCall(Conflict):
    """A call control (hold, transfer, hang up, listen) asked for an operator who is on no call."""

    error_id = "no-active-call"
    default_message = "در حال حاضر تماسی برقرار نیست."


class InvalidTransition(Conflict):
    """The action is not an edge of the ticket lifecycle from the ticket's current status."""

    error_id = "invalid-transition"
    default_message = "این کار در وضعیت کنونی درخواست ممکن نیست."


class LinesNeededForInbound(Conflict):
    """An outbound call would take a line inbound callers need (some are waiting, or the outbound share is full)."""

    error_id = "lines-needed-for-inbound"
    default_message = "اکنون خطی برای تماس خروجی آزاد نیست؛ خط‌ها برای تماس‌های ورودی لازم‌اند."


class OutsideCallingHours(Conflict):
    """Citizens are not called at night or on holidays."""

    error_id = "outside-calling-hours"
    default_message = "اکنون خارج از ساعت تماس با شهروندان است."


class MeetingSlotTaken(Conflict):
    """Someone else took the last place of the meeting time a moment ago (or the office withdrew it)."""

    error_id = "meeting-slot-taken"
    default_message = "این وقت همین حالا گرفته شد؛ وقت دیگری را انتخاب کنید."


class MeetingAlreadyBooked(Conflict):
    """The complaint holds a meeting time already: one live booking per complaint (change or cancel it)."""

    error_id = "meeting-already-booked"
    default_message = "برای این شکایت وقت دیدار گرفته شده است؛ می‌توانید آن را تغییر دهید یا لغو کنید."


class DatabaseUnavailable(PasokhError):
    """The database cannot be reached (stopped, restarting, the network to it cut): nothing was saved, and the
    request may be sent again as it was (a ticket's ``request_id`` makes a repeat return the first one)."""

    error_id = "database-unavailable"
    status_code = 503
    default_message = "ارتباط با پایگاه داده قطع است؛ چند لحظه دیگر دوباره تلاش کنید."


class AsteriskUnavailable(PasokhError):
    """Asterisk cannot be asked now: the AMI connection is down, Asterisk did not answer in time, or (on a web-only
    worker) the relay to the telephony process failed. ``reason`` (English) is for the log."""

    error_id = "asterisk-unavailable"
    status_code = 503
    default_message = "ارتباط با مرکز تلفن برقرار نیست؛ چند لحظه دیگر دوباره تلاش کنید."

    def __init__(self, reason: str, *, message: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} ({self.message})"


class AsteriskRefused(PasokhError):
    """Asterisk answered the action with an error (AMI ``Response: Error``): the channel is gone, the queue
    unknown... Asterisk's own (English) words are ``reason``: logged and read by code, never shown to staff."""

    error_id = "asterisk-refused"
    status_code = 502
    default_message = "مرکز تلفن این کار را انجام نداد؛ وضعیت تماس را بررسی کنید و دوباره تلاش کنید."

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(None, **details)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} ({self.message})"


# Asterisk away or saying no: where either means the same to the caller (skip the round, keep the saved account).
ASTERISK_FAILURES = (AsteriskUnavailable, AsteriskRefused)


class AmiActionRefused(PasokhError):
    """A relayed AMI request that is not one of the actions the backend sends (callcenter/telephony/ami_allowlist.py):
    never run. ``reason`` (English, field names only) is for the log."""

    error_id = "ami-action-refused"
    status_code = 503
    default_message = "این فرمان به مرکز تلفن فرستاده نشد."

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(None, reason=reason, **details)


class AsteriskSandboxError(PasokhError):
    """Building or starting the project's Asterisk chroot failed (``python -m callcenter`` commands)."""

    error_id = "asterisk-sandbox-error"
    default_message = "مرکز تلفن آماده نشد؛ به پشتیبانی خبر دهید."
    for_staff = False


class BackupError(PasokhError):
    """A backup or a restore refused or failed (``python -m callcenter backup|restore``): the English message says
    why (a database not empty, an archive damaged or from a newer version, pg_dump missing)."""

    error_id = "backup-error"
    default_message = "پشتیبان‌گیری یا بازگردانی انجام نشد؛ به پشتیبانی خبر دهید."
    for_staff = False


class SmsSendFailed(PasokhError):
    """The SMS provider refused a message or did not answer; the outbox retries it later."""

    error_id = "sms-send-failed"
    status_code = 502
    default_message = "پیامک فرستاده نشد؛ دوباره فرستاده خواهد شد."
    for_staff = False


def error_classes() -> list[type[PasokhError]]:
    """Every error class defined here, the base included, by error id (the order of docs/errors.md)."""
    found: set[type[PasokhError]] = set()
    pending: list[type[PasokhError]] = [PasokhError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == __name__ and cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.error_id)
