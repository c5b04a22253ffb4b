"""A citizen's mobile verified by a one-time SMS code (six digits, five minutes, five tries), sent through the SMS
outbox; a verified mobile is remembered for the browser's public session for a while (ADR 0055).

Nothing here is stored in the clear: the code, the mobile and the session (named by its CSRF token, which a public
visitor's signed cookie carries) are HMACs under the installation's secret key. Resends are throttled per number
and per client address by the public rate limits, whose keys are HMACs too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.platform.errors import RateLimited, ValidationFailed
from callcenter.platform.persian import ascii_digits, persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.platform.rate_limits import RateLimiter, RateRule
from db.models import PhoneCode, SmsMessage

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
# A second form filed from the same browser soon after needs no new code.
REMEMBERED_FOR = timedelta(minutes=30)
# Resends: one a minute and five an hour per number; twenty an hour per client address (a household, an office
# behind one address, a phone shop helping its customers).
NUMBER_RULES = (RateRule("otp-number-minute", 1, timedelta(minutes=1)),
                RateRule("otp-number-hour", 5, timedelta(hours=1)))
ADDRESS_SCOPE = "otp-address"
ADDRESS_LIMIT = 20  # the default of PASOKH_PHONE_CODES_PER_ADDRESS_HOUR
# Rows are useless once neither the code nor the verification it gave can be used any more.
KEEP_ROWS_FOR = timedelta(days=1)

CODE_TEXT = "شهرداری قزوین: کد تأیید شما {code} است. این کد تا {minutes} دقیقه معتبر است."
BAD_MOBILE = "شمارهٔ تلفن همراه را درست وارد کنید؛ مثلاً ۰۹۱۲۱۲۳۴۵۶۷."
NO_CODE = "کد تأیید را وارد کنید؛ اگر پیامکی نرسیده است، «فرستادن کد تأیید» را بزنید."
BAD_CODE_FORMAT = f"کد تأیید {persian_digits(CODE_DIGITS)} رقم است."
NO_LIVE_CODE = "کد تأییدی برای این شماره فرستاده نشده یا اعتبارش تمام شده است؛ کد تازه بخواهید."
WRONG_CODE = "کد تأیید درست نیست؛ {left} بار دیگر می‌توانید امتحان کنید."
TRIES_USED_UP = "کد تأیید چند بار نادرست وارد شد و دیگر پذیرفته نمی‌شود؛ کد تازه بخواهید."
NUMBER_THROTTLED = "برای این شماره به‌تازگی کد فرستاده شده است؛ {wait} دیگر دوباره بخواهید."
ADDRESS_THROTTLED = "از این اتصال کدهای زیادی خواسته شده است؛ {wait} دیگر دوباره تلاش کنید."


def mobile_number(raw: str) -> str:
    """The mobile as stored (ASCII digits, 09…), from what the citizen typed (Persian digits, +98…)."""
    number = sms_number(raw.strip()) if raw.strip() else None
    if number is None:
        raise ValidationFailed(BAD_MOBILE, field="mobile")
    return number


def wait_in_words(retry_after: timedelta) -> str:
    """«۴۵ ثانیه» or «۱۲ دقیقه»: how long a refused citizen waits, in Persian."""
    seconds = max(1, int(retry_after.total_seconds()))
    if seconds < 120:
        return f"{persian_digits(seconds)} ثانیه"
    return f"{persian_digits((seconds + 59) // 60)} دقیقه"


@dataclass(frozen=True)
class SentCode:
    """A code queued for sending: its outbox row, and how long it is valid."""

    message: SmsMessage
    expires_at: datetime


class PhoneCodes:
    """Sending, checking and remembering codes, under the installation's secret key."""

    def __init__(self, *, secret: str, per_address_hour: int = ADDRESS_LIMIT) -> None:
        self._secret = secret.encode()
        self._limiter = RateLimiter(secret=secret)
        self.address_rule = RateRule(ADDRESS_SCOPE, per_address_hour, timedelta(hours=1))

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._secret, f"phone-code\x00{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def _code_hash(self, row_keys: tuple[str, str], code: str) -> str:
        return self._mac("code", f"{row_keys[0]}\x00{row_keys[1]}\x00{code}")

    def _keys(self, session_token: str, mobile: str) -> tuple[str, str]:
        return self._mac("session", session_token), self._mac("mobile", mobile)

    def send(self, session: Session, *, mobile: str, session_token: str, address: str, now: datetime) -> SentCode:
        """Queue a new code for ``mobile`` (the previous one this session asked for stops working), unless the
        number or the address asked too often: then :class:`RateLimited` with a Persian message.

        The hits are counted in the caller's transaction; a refusal must be committed to count (the route
        answers it as a page, not by raising)."""
        for rule in NUMBER_RULES:
            verdict = self._limiter.hit(session, rule, mobile, now=now)
            if not verdict.allowed:
                raise RateLimited(NUMBER_THROTTLED.format(wait=wait_in_words(verdict.retry_after)),
                                  retry_after=max(1, int(verdict.retry_after.total_seconds())), field="mobile")
        verdict = self._limiter.hit(session, self.address_rule, address, now=now)
        if not verdict.allowed:
            raise RateLimited(ADDRESS_THROTTLED.format(wait=wait_in_words(verdict.retry_after)),
                              retry_after=max(1, int(verdict.retry_after.total_seconds())), field="mobile")
        keys = self._keys(session_token, mobile)
        session.exec(sa.delete(PhoneCode).where(
            col(PhoneCode.session_key) == keys[0], col(PhoneCode.mobile_key) == keys[1],
            col(PhoneCode.verified_until).is_(None)))
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        expires_at = now + CODE_LIFETIME
        session.add(PhoneCode(session_key=keys[0], mobile_key=keys[1], code_hash=self._code_hash(keys, code),
                              created_at=now, expires_at=expires_at))
        message = SmsMessage(to_number=mobile, body=CODE_TEXT.format(
            code=persian_digits(code), minutes=persian_digits(int(CODE_LIFETIME.total_seconds()) // 60)),
            created_at=now, next_attempt_at=now)
        session.add(message)
        session.flush()
        return SentCode(message=message, expires_at=expires_at)

    def is_verified(self, session: Session, *, mobile: str, session_token: str, now: datetime) -> bool:
        """Whether this session typed a code for ``mobile`` correctly within the last ``REMEMBERED_FOR``."""
        keys = self._keys(session_token, mobile)
        return session.exec(select(PhoneCode.id).where(
            PhoneCode.session_key == keys[0], PhoneCode.mobile_key == keys[1],
            col(PhoneCode.verified_until) > now)).first() is not None

    def verify(self, session: Session, *, mobile: str, session_token: str, code: str, now: datetime) -> None:
        """Accept ``code`` for ``mobile`` in this session, or refuse with a Persian message (field ``code``).

        Each wrong try is counted by one atomic update (two tries at once cannot both take the last one); the
        count, like the verification, is written in the caller's transaction, which must be committed either way."""
        typed = ascii_digits(code.strip())
        if not typed:
            raise ValidationFailed(NO_CODE, field="code")
        if len(typed) != CODE_DIGITS or not typed.isdigit():
            raise ValidationFailed(BAD_CODE_FORMAT, field="code")
        keys = self._keys(session_token, mobile)
        row = session.exec(select(PhoneCode).where(
            PhoneCode.session_key == keys[0], PhoneCode.mobile_key == keys[1],
            col(PhoneCode.verified_until).is_(None)).order_by(col(PhoneCode.id).desc())).first()
        if row is None or row.expires_at <= now:
            raise ValidationFailed(NO_LIVE_CODE, field="code")
        if row.attempts >= MAX_TRIES:
            raise ValidationFailed(TRIES_USED_UP, field="code")
        table = PhoneCode.__table__  # type: ignore[attr-defined]
        if hmac.compare_digest(row.code_hash, self._code_hash(keys, typed)):
            verified = session.execute(sa.update(table).where(
                table.c.id == row.id, table.c.attempts < MAX_TRIES, table.c.verified_until.is_(None))
                .values(verified_until=now + REMEMBERED_FOR))
            session.expire(row)
            # Not updated: a twin of this very form (a double click) verified it a moment ago, or the tries ran out.
            if _rowcount(verified) == 1 or self.is_verified(session, mobile=mobile, session_token=session_token,
                                                             now=now):
                return
            raise ValidationFailed(TRIES_USED_UP, field="code")
        counted = session.execute(sa.update(table).where(table.c.id == row.id, table.c.attempts < MAX_TRIES)
                                  .values(attempts=table.c.attempts + 1))
        session.expire(row)
        left = MAX_TRIES - row.attempts  # reloaded: this try included
        if _rowcount(counted) != 1 or left <= 0:
            raise ValidationFailed(TRIES_USED_UP, field="code")
        raise ValidationFailed(WRONG_CODE.format(left=persian_digits(left)), field="code")

    def ensure_verified(
        self, session: Session, *, mobile: str, session_token: str, code: str, now: datetime,
    ) -> None:
        """The mobile this session already verified, or the code typed with the form now."""
        if not self.is_verified(session, mobile=mobile, session_token=session_token, now=now):
            self.verify(session, mobile=mobile, session_token=session_token, code=code, now=now)


def _rowcount(result: object) -> int:
    """How many rows an UPDATE changed (a CursorResult's count; the ORM session types it as a plain Result)."""
    return int(getattr(result, "rowcount", 0) or 0)


def purge_old_codes(session: Session, *, now: datetime) -> int:
    """Delete codes and verifications that can no longer be used (for the scheduler's purge job)."""
    cutoff = now - KEEP_ROWS_FOR
    result = session.exec(sa.delete(PhoneCode).where(
        col(PhoneCode.expires_at) < cutoff,
        sa.or_(col(PhoneCode.verified_until).is_(None), col(PhoneCode.verified_until) < cutoff)))
    return int(result.rowcount or 0)
