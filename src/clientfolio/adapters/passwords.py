"""Password hashing (argon2id, argon2-cffi), TOTP (pyotp, RFC 6238) with QR codes (segno), recovery codes.

Nothing here stores anything or logs anything: the services keep the hashes and the sealed secrets.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without mistakes


class Argon2Passwords:
    """argon2id with argon2-cffi's defaults (RFC 9106's second recommended set: t=3, m=64 MiB, p=4) unless
    told otherwise; a hash made with other parameters verifies, and `needs_rehash` says so."""

    def __init__(self, **params):
        self._hasher = PasswordHasher(**params)
        self._dummy: str | None = None

    def __repr__(self) -> str:
        p = self._hasher
        return f"Argon2Passwords(time_cost={p.time_cost}, memory_cost={p.memory_cost}, parallelism={p.parallelism})"

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def verify_dummy(self, password: str) -> None:
        """As much work as a real verification, for a user who does not exist or has no password: the time a
        sign-in takes does not tell whether the name exists."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)


class Totp:
    """Six digits every 30 seconds (SHA-1: what every authenticator app supports)."""

    interval = 30
    digits = 6

    def new_secret(self) -> str:
        return pyotp.random_base32(32)  # 160 bits

    def provisioning(self, secret: str, *, account: str, issuer: str) -> tuple[str, str]:
        """The otpauth:// URI and an SVG QR code of it, made in memory."""
        uri = pyotp.TOTP(secret, digits=self.digits, interval=self.interval).provisioning_uri(
            name=account, issuer_name=issuer)
        buffer = io.BytesIO()
        segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False,
                                        title=f"{issuer}: {account}")
        return uri, buffer.getvalue().decode("utf-8")

    def matching_step(self, secret: str, code: str, *, at: datetime, after_step: int | None) -> int | None:
        """The time step `code` is valid for (now, or one step either side for clock drift), if that step is
        later than `after_step`: a code already accepted is never accepted again."""
        code = "".join(code.split())
        if len(code) != self.digits or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=self.digits, interval=self.interval)
        now_step = totp.timecode(at)
        for step in (now_step - 1, now_step, now_step + 1):
            if after_step is not None and step <= after_step:
                continue
            if secrets.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    def recovery_codes(self, count: int = 10) -> list[str]:
        """One-time codes of 10 characters (about 49 bits each), shown as xxxxx-xxxxx."""
        codes = []
        for _ in range(count):
            raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        return codes
