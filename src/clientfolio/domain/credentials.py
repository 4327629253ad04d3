"""Sign-in rules, pure: password policy, who needs a second factor, lock-out and session limits, token scopes.

Nothing here hashes, stores or sends anything: the services apply these rules, adapters do the crypto.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.model import Role
from clientfolio.domain.policy import PERMISSIONS, Action

# --------------------------------------------------------------------------------------------------
# Settings (config.toml [auth]; every number has a safe default)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthSettings:
    min_password_length: int = 12
    second_factor_roles: frozenset[str] = field(
        default_factory=lambda: frozenset({Role.MANAGER.value, Role.AUDITOR.value, Role.ADMIN.value}))
    lock_after_failures: int = 5  # wrong passwords or codes in a row: the account is locked until an admin unlocks
    address_max_failures: int = 20  # failed sign-ins from one client address within address_window ...
    address_window: timedelta = timedelta(minutes=15)  # ... refuse that address until they age out of the window
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    pending_second_factor: timedelta = timedelta(minutes=5)  # between the password and the code
    token_max_days: int = 366
    issuer: str = "Clientfolio"  # the name authenticator apps show

    def requires_second_factor(self, role: str) -> bool:
        return role in self.second_factor_roles


def auth_settings_from_config(section: dict) -> AuthSettings:
    """The [auth] table of config.toml; unknown keys and bad values are refused with the key named."""
    known = {"min_password_length", "second_factor_roles", "lock_after_failures", "address_max_failures",
             "address_window_minutes", "session_idle_minutes", "session_absolute_hours",
             "token_max_days", "issuer"}
    unknown = set(section) - known
    if unknown:
        raise InvalidInput(f"config.toml [auth]: unknown setting(s): {', '.join(sorted(unknown))}")

    def number(key: str, default: int, low: int, high: int) -> int:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"config.toml [auth]: {key} must be a whole number from {low} to {high}")
        return value

    d = AuthSettings()
    roles = section.get("second_factor_roles", sorted(d.second_factor_roles))
    valid = {r.value for r in Role}
    if not isinstance(roles, list) or not all(isinstance(r, str) and r in valid for r in roles):
        raise InvalidInput(f"config.toml [auth]: second_factor_roles must be a list of: {', '.join(sorted(valid))}")
    issuer = section.get("issuer", d.issuer)
    if not isinstance(issuer, str) or not issuer.strip() or ":" in issuer:
        raise InvalidInput("config.toml [auth]: issuer must be a short name without ':'")
    return AuthSettings(
        min_password_length=number("min_password_length", d.min_password_length, 8, 128),
        second_factor_roles=frozenset(roles),
        lock_after_failures=number("lock_after_failures", d.lock_after_failures, 1, 100),
        address_max_failures=number("address_max_failures", d.address_max_failures, 1, 10_000),
        address_window=timedelta(minutes=number("address_window_minutes", 15, 1, 24 * 60)),
        session_idle=timedelta(minutes=number("session_idle_minutes", 30, 1, 7 * 24 * 60)),
        session_absolute=timedelta(hours=number("session_absolute_hours", 12, 1, 24 * 30)),
        token_max_days=number("token_max_days", d.token_max_days, 1, 3660),
        issuer=issuer.strip())


# --------------------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------------------

MAX_PASSWORD_LENGTH = 1024

# Very common passwords and the words they are built from (a word plus digits or symbols is refused too).
COMMON_PASSWORDS = frozenset("""
password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop qwerty123 asdfghjkl zxcvbnm 1qaz2wsx 1qaz2wsx3edc
qazwsx qazwsxedc 123456 1234567 12345678 123456789 1234567890 123456789012 1234567890ab 0123456789
111111 000000 888888 666666 112233 123123 123321 654321 987654321 abc123 abc123456 a123456 a123456789
aa123456 iloveyou woaini woaini1314 5201314 1314520 letmein welcome welcome1 admin administrator root
changeme default secret monkey dragon football baseball sunshine princess master shadow superman trustno1
michael jennifer hunter killer charlie batman starwars whatever freedom computer internet
clientfolio customer zhongguo china beijing shanghai shenzhen
""".split())


def normalize_password(password: str) -> str:
    """NFKC, so a password typed with a Chinese input method in full-width mode (ＡＢＣ１２３) still matches."""
    return unicodedata.normalize("NFKC", password)


def _classes(password: str) -> int:
    kinds = set()
    for ch in password:
        if ch.islower():
            kinds.add("lower")
        elif ch.isupper():
            kinds.add("upper")
        elif ch.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return len(kinds)


def _core(text: str) -> str:
    """The word a password is built on: lower case, digits and symbols at both ends stripped."""
    return text.lower().strip("0123456789!@#$%^&*()_+-=.,;:?~`'\"[]{}<>/\\| ")


def check_password(password: str, *, user_name: str, settings: AuthSettings = AuthSettings()) -> str:
    """The normalized password if it meets the policy; InvalidInput with a plain reason otherwise.
    The message never repeats the password."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("a password is required")
    pw = normalize_password(password)
    if len(pw) < settings.min_password_length:
        raise InvalidInput(f"the password is too short: use at least {settings.min_password_length} characters")
    if len(pw) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")
    if pw.strip() != pw:
        raise InvalidInput("the password must not start or end with a space")
    if len(pw) < 16 and _classes(pw) < 3:
        raise InvalidInput("the password is too simple: mix at least 3 kinds of characters (lower-case letters, "
                           "upper-case letters, digits, symbols), or use at least 16 characters")
    lowered = pw.lower()
    name = user_name.lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        raise InvalidInput("the password must not contain the user name")
    if lowered in COMMON_PASSWORDS or _core(pw) in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        raise InvalidInput("this password is too common or too easy to guess: choose another")
    return pw


# --------------------------------------------------------------------------------------------------
# Secrets that are stored only as hashes
# --------------------------------------------------------------------------------------------------

TOKEN_PREFIX = "cf_"


def token_digest(raw: str) -> str:
    """SHA-256 of a random session or API token (256 bits of entropy: no key or stretching needed)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", code).lower() if ch.isalnum())


def looks_like_totp(code: str) -> bool:
    code = unicodedata.normalize("NFKC", code).replace(" ", "")
    return len(code) == 6 and code.isdigit()


# --------------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------------


def as_utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def session_refusal(*, now: datetime, last_seen_at: datetime, ends_at: datetime, revoked_at: datetime | None,
                    settings: AuthSettings) -> str | None:
    """Why a session can no longer be used (None: it can)."""
    if revoked_at is not None:
        return "signed out"
    if now >= as_utc(ends_at):
        return "expired"
    if now - as_utc(last_seen_at) >= settings.session_idle:
        return "idle too long"
    return None


# --------------------------------------------------------------------------------------------------
# Identities and token scopes
# --------------------------------------------------------------------------------------------------

# Rights a token never carries, whatever its scope: changing passwords, second factors and tokens needs a
# person signed in (or the local console).
NOT_BY_TOKEN = frozenset({Action.ACCOUNT_SELF.value})


class Principal(str):
    """Who acts: the user name, plus the limits of the credential used.

    A `str` subclass, so every service that takes `actor: str` accepts it unchanged; `acting_user` narrows the
    loaded user's rights to `scope` (None: whatever the role allows), and the unit of work adds `via` to every
    audit event written for it.
    """

    scope: frozenset[str] | None
    via: str | None

    def __new__(cls, name: str, scope=None, via: str | None = None):
        self = super().__new__(cls, name)
        self.scope = frozenset(scope) if scope is not None else None
        self.via = via
        return self

    def __reduce__(self):
        return (Principal, (str(self), self.scope, self.via))

    def __repr__(self) -> str:
        return f"Principal({str(self)!r}, scope={sorted(self.scope) if self.scope is not None else None}, via={self.via!r})"


def token_scope(role: str, requested: list[str] | None) -> list[str] | None:
    """Check a requested token scope: known actions, all of them in the user's role, none that only a person may
    use. None means "whatever the role allows when the token is used"; the result is sorted."""
    if requested is None:
        return None
    if not isinstance(requested, (list, tuple, set, frozenset)) or not requested:
        raise InvalidInput("a token scope is a non-empty list of actions, e.g. customer.read document.read_meta")
    known = {a.value for a in Action}
    cleaned = sorted({str(a).strip() for a in requested})
    unknown = [a for a in cleaned if a not in known]
    if unknown:
        raise InvalidInput(f"unknown action(s) in the scope: {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(known - NOT_BY_TOKEN))}")
    personal = [a for a in cleaned if a in NOT_BY_TOKEN]
    if personal:
        raise InvalidInput(f"a token cannot carry {', '.join(personal)}: passwords, second factors and tokens "
                           "are changed by a person signed in")
    allowed = {a.value for a in PERMISSIONS[Role(role)]}
    beyond = [a for a in cleaned if a not in allowed]
    if beyond:
        raise InvalidInput(f"role {role} does not have {', '.join(beyond)}: a token can only narrow your rights")
    return cleaned


def token_rights(stored_scope: list[str] | None) -> frozenset[str]:
    """The scope a token acts with (before the intersection with the role, which `policy.allows` applies)."""
    base = set(stored_scope) if stored_scope is not None else {a.value for a in Action}
    return frozenset(base - NOT_BY_TOKEN)


# A session whose user's role needs a second factor not yet set up may only do that (and manage itself).
ENROLMENT_ONLY_SCOPE = frozenset({Action.ACCOUNT_SELF.value})


class SignInSession:
    """A signed-in browser (or one waiting for its second factor). `id` is the SHA-256 of the token."""

    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    ends_at: datetime
    second_factor_done: bool
    client_address: str
    user_agent: str
    revoked_at: datetime | None

    def __init__(self, *, id: str, user_id: int, now: datetime, ends_at: datetime, second_factor_done: bool,
                 client_address: str, user_agent: str):
        self.id, self.user_id = id, user_id
        self.created_at = self.last_seen_at = now
        self.ends_at = ends_at
        self.second_factor_done = second_factor_done
        self.client_address = client_address[:64]
        self.user_agent = user_agent[:200]
        self.revoked_at = None


class ApiToken:
    id: int
    user_id: int
    name: str
    token_hash: str
    prefix: str
    scope: str | None  # JSON list of actions; None: whatever the role allows
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def __init__(self, *, user_id: int, name: str, token_hash: str, prefix: str, scope: str | None,
                 created_at: datetime, expires_at: datetime):
        self.user_id, self.name, self.token_hash, self.prefix = user_id, name, token_hash, prefix
        self.scope = scope
        self.created_at, self.expires_at = created_at, expires_at
        self.last_used_at = self.revoked_at = None


class RecoveryCode:
    id: int
    user_id: int
    code_hash: str
    used_at: datetime | None

    def __init__(self, *, user_id: int, code_hash: str):
        self.user_id, self.code_hash, self.used_at = user_id, code_hash, None
