"""Sign-in security on SQLite and PostgreSQL: passwords, lock-out, throttling, TOTP, recovery codes, sessions,
CSRF, API tokens and their scopes, and no secret at rest or in the audit trail.

Everything runs through the real services against a real vault. Time is moved by writing timestamps into the
database, never by sleeping. Argon2 runs with small parameters here (the adapter is the real one).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, update

from clientfolio.adapters import orm
from clientfolio.adapters.passwords import Argon2Passwords
from clientfolio.adapters.settings import read_settings
from clientfolio.domain.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from clientfolio.domain.model import utcnow
from clientfolio.domain.queries import AuditFilter
from clientfolio.services import audit, auth, customers, second_factor, tokens, users
from clientfolio.services.auth import WRONG_NAME_OR_PASSWORD

FAST = dict(time_cost=1, memory_cost=8192, parallelism=1)
PW = {"clara": "Blue-Lantern-4471", "max": "Quiet-River-2093", "vera": "Paper-Crane-5518",
      "admin": "Iron-Gate-Keeper-88"}


class CountingArgon2(Argon2Passwords):
    """The real adapter, counting how many verifications it did (dummy ones included)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.verifications = 0

    def verify(self, stored, password):
        self.verifications += 1
        return super().verify(stored, password)


@pytest.fixture
def v(staffed):
    """conftest's `staffed` vault (one user per role), quick hashing, passwords for clara, max, vera, admin."""
    staffed.passwords = CountingArgon2(**FAST)
    for name in ("clara", "max", "vera"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PW[name])
    auth.set_password(vault=staffed, actor="admin", name="admin", new_password=PW["admin"])
    return staffed


def sign_in(v, name, password=None, address="192.0.2.1"):
    return auth.sign_in(vault=v, name=name, password=PW[name] if password is None else password,
                        client_address=address, user_agent="pytest")


def user_row(v, name):
    with v.uow() as uow:
        return uow.session.execute(select(orm.users).where(orm.users.c.name == name)).one()


def events(v, action=None, since=0):
    with v.uow() as uow:
        found = uow.audit.query(AuditFilter(action=action, limit=1000))
    return sorted((e for e in found if e.seq > since), key=lambda e: e.seq)


def head(v):
    with v.uow() as uow:
        return uow.audit.head()[0]


def execute(v, statement):
    with v.uow() as uow:
        uow.session.execute(statement)
        uow.commit()


def enrol(v, actor, session_id=None):
    """Set up TOTP for `actor`; returns (pyotp.TOTP, recovery codes)."""
    started = second_factor.start_totp(vault=v, actor=actor)
    app = pyotp.TOTP(started.secret)
    codes = second_factor.confirm_totp(vault=v, actor=actor, code=app.now(), session_id=session_id)
    return app, codes


def wrong_code(app):
    """Six digits that are no code of the current window."""
    now = utcnow()
    valid = {app.at(now + timedelta(seconds=d)) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


def next_code(app):
    """A code for the next time step: accepted once after the current one was (the window is +/- one step)."""
    return app.at(utcnow() + timedelta(seconds=30))


# --------------------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------------------

def test_password_set_verify_and_rehash_when_the_parameters_change(v):
    before = user_row(v, "clara")
    assert before.password_hash.startswith("$argon2id$") and "m=8192,t=1,p=1" in before.password_hash
    assert before.password_changed_at is not None
    result = sign_in(v, "clara")
    assert result.status == "signed_in" and result.user == "clara" and not result.enrolment_required
    assert user_row(v, "clara").password_hash == before.password_hash  # same parameters: kept
    v.passwords = Argon2Passwords(time_cost=2, memory_cost=8192, parallelism=1)
    sign_in(v, "clara")
    after = user_row(v, "clara").password_hash
    assert after != before.password_hash and "m=8192,t=2,p=1" in after
    [*_, last] = events(v, "auth.sign_in")
    assert json.loads(last.details)["rehashed"] is True
    assert sign_in(v, "clara").status == "signed_in"  # the new hash verifies
    with pytest.raises(NotAuthenticated, match=WRONG_NAME_OR_PASSWORD):
        sign_in(v, "clara", "Blue-Lantern-4472")


def test_changing_ones_own_password_needs_the_current_one_and_ends_other_sessions(v):
    first, second = sign_in(v, "clara"), sign_in(v, "clara")
    current = auth.resolve_session(vault=v, token=first.token)
    with pytest.raises(NotAuthenticated, match="current password is wrong"):
        auth.set_password(vault=v, actor="clara", name="clara", new_password="Green-Meadow-7312",
                          current_password="not it at all")
    assert user_row(v, "clara").failed_sign_ins == 1  # counted, and kept although the change was refused
    [denied] = events(v, "user.password")[-1:]
    assert denied.outcome == "denied"
    with pytest.raises(InvalidInput, match="too short"):
        auth.set_password(vault=v, actor="clara", name="clara", new_password="short", current_password=PW["clara"])
    auth.set_password(vault=v, actor="clara", name="clara", new_password="Green-Meadow-7312",
                      current_password=PW["clara"], keep_session=current.id)
    assert auth.resolve_session(vault=v, token=first.token).user == "clara"  # the session it was changed in
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=second.token)
    with pytest.raises(NotAuthenticated):
        sign_in(v, "clara")
    assert sign_in(v, "clara", "Green-Meadow-7312").status == "signed_in"
    [ok] = events(v, "user.password")[-1:]
    assert (ok.actor, ok.outcome, json.loads(ok.details)) == ("clara", "ok", {"by": "self", "sessions_ended": 1})
    # Someone else's password needs user.manage.
    with pytest.raises(PermissionDenied):
        auth.set_password(vault=v, actor="clara", name="vera", new_password="Green-Meadow-7312")


def test_a_user_without_a_password_cannot_sign_in(v):
    assert user_row(v, "audrey").password_hash is None  # made before passwords existed, or by an admin
    with pytest.raises(NotAuthenticated, match=WRONG_NAME_OR_PASSWORD):
        sign_in(v, "clara", "")
    with pytest.raises(NotAuthenticated, match=WRONG_NAME_OR_PASSWORD):
        auth.sign_in(vault=v, name="audrey", password="", client_address="192.0.2.1")


def test_unknown_user_and_wrong_password_get_the_same_answer_after_the_same_work(v):
    answers, work = [], []
    seq = head(v)
    for name, password in (("nobody", "Blue-Lantern-4471"), ("clara", "Blue-Lantern-4472"),
                           ("audrey", "Blue-Lantern-4471")):  # unknown, wrong password, no password set
        before = v.passwords.verifications
        with pytest.raises(NotAuthenticated) as caught:
            auth.sign_in(vault=v, name=name, password=password, client_address="192.0.2.9")
        answers.append((type(caught.value), caught.value.message, caught.value.code))
        work.append(v.passwords.verifications - before)
    assert len(set(answers)) == 1 and answers[0][1] == WRONG_NAME_OR_PASSWORD
    assert work == [1, 1, 1]  # an argon2 verification each time (a dummy hash for unknown users)
    recorded = events(v, "auth.sign_in", since=seq)
    assert [(e.outcome, json.loads(e.details)["reason"]) for e in recorded] == [
        ("denied", "unknown user"), ("denied", "wrong password"), ("denied", "no password set")]
    assert "Blue-Lantern" not in repr([(e.details, e.object_id, e.actor) for e in recorded])


# --------------------------------------------------------------------------------------------------
# Lock-out and throttling
# --------------------------------------------------------------------------------------------------

def test_lock_out_after_five_failures_is_audited_and_an_admin_unlocks(v):
    session = sign_in(v, "clara")
    for i in range(5):
        with pytest.raises(NotAuthenticated, match=WRONG_NAME_OR_PASSWORD):
            sign_in(v, "clara", f"Wrong-Guess-{i}000", address=f"198.51.100.{i}")
    row = user_row(v, "clara")
    assert row.locked_at is not None and row.failed_sign_ins == 5
    [locked] = events(v, "user.locked")
    assert (locked.actor, locked.object_id, json.loads(locked.details)["failures"]) == ("clara", "clara", 5)
    assert json.loads(locked.details)["sessions_ended"] == 1
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=session.token)  # signed out everywhere by the lock
    # The right password now says why; a wrong one still says nothing more.
    with pytest.raises(NotAuthenticated, match="locked"):
        sign_in(v, "clara")
    with pytest.raises(NotAuthenticated, match=WRONG_NAME_OR_PASSWORD):
        sign_in(v, "clara", "Wrong-Guess-9000")
    with pytest.raises(PermissionDenied):
        auth.unlock_user(vault=v, actor="max", name="clara")
    with pytest.raises(NotFound):
        auth.unlock_user(vault=v, actor="admin", name="nobody")
    auth.unlock_user(vault=v, actor="admin", name="clara")
    [unlock] = events(v, "user.unlock")
    assert unlock.actor == "admin" and json.loads(unlock.details) == {"was_locked": True, "failures": 6}
    assert sign_in(v, "clara").status == "signed_in"
    assert user_row(v, "clara").failed_sign_ins == 0


def test_a_success_resets_the_count_of_failures(v):
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            sign_in(v, "clara", "Wrong-Guess-1000")
    sign_in(v, "clara")
    with pytest.raises(NotAuthenticated):
        sign_in(v, "clara", "Wrong-Guess-1000")
    assert user_row(v, "clara").locked_at is None


def test_too_many_failures_from_one_address_refuse_it_for_a_while(v):
    v.auth = replace(v.auth, address_max_failures=3)
    for name in ("nobody", "someone", "clara"):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(vault=v, name=name, password="Wrong-Guess-1000", client_address="203.0.113.7")
    before = v.passwords.verifications
    with pytest.raises(RateLimited, match="too many failed sign-ins from this address"):
        sign_in(v, "vera", address="203.0.113.7")  # even the right password: refused without checking it
    assert v.passwords.verifications == before
    assert sign_in(v, "vera", address="203.0.113.8").status == "signed_in"  # another address is not affected
    [refused] = [e for e in events(v, "auth.sign_in") if json.loads(e.details).get("reason", "").startswith("too many")]
    assert refused.outcome == "denied" and refused.actor == "vera"
    # The failures age out of the window (15 minutes by default).
    execute(v, update(orm.sign_in_failures).values(at=utcnow() - timedelta(minutes=16)))
    assert sign_in(v, "vera", address="203.0.113.7").status == "signed_in"
    assert user_row(v, "clara").locked_at is None  # one failure on the account: far from its own limit


# --------------------------------------------------------------------------------------------------
# Two-step sign-in
# --------------------------------------------------------------------------------------------------

def test_a_role_that_needs_a_second_factor_can_only_set_it_up_first(v):
    result = sign_in(v, "max")  # a manager
    assert result.status == "signed_in" and result.enrolment_required
    session = auth.resolve_session(vault=v, token=result.token)
    assert session.enrolment_only and session.principal.scope == {"account.self"}
    seq = head(v)
    with pytest.raises(PermissionDenied, match="does not allow customer.read"):
        customers.list_customers(vault=v, actor=session.principal)
    [denied] = events(v, since=seq)
    assert json.loads(denied.details)["via"] == "session without its required second factor"
    with pytest.raises(PermissionDenied, match="cannot create tokens"):
        tokens.create_token(vault=v, actor=session.principal, name="sneaky")
    app, codes = enrol(v, session.principal, session_id=session.id)
    assert len(codes) == len(set(codes)) == 10
    upgraded = auth.resolve_session(vault=v, token=result.token)
    assert upgraded.second_factor and not upgraded.enrolment_only and upgraded.principal.scope is None
    assert customers.list_customers(vault=v, actor=upgraded.principal).total == 0
    # A clerk needs no second factor (the roles are configurable).
    assert not sign_in(v, "clara").enrolment_required
    v.auth = replace(v.auth, second_factor_roles=frozenset({"clerk"}))
    assert sign_in(v, "clara").enrolment_required


def test_totp_sign_in_rotates_the_token_and_refuses_a_replayed_code(v):
    started = second_factor.start_totp(vault=v, actor="clara")
    assert started.uri.startswith("otpauth://totp/") and "issuer=Clientfolio" in started.uri
    assert started.qr_svg.lstrip().startswith("<svg") and "</svg>" in started.qr_svg
    assert started.secret not in repr(started)
    with pytest.raises(InvalidInput, match="wrong code"):
        second_factor.confirm_totp(vault=v, actor="clara", code=wrong_code(pyotp.TOTP(started.secret)))
    app = pyotp.TOTP(started.secret)
    second_factor.confirm_totp(vault=v, actor="clara", code=app.now())
    with pytest.raises(InvalidInput, match="already on"):
        second_factor.start_totp(vault=v, actor="clara")

    pending = sign_in(v, "clara")
    assert pending.status == "second_factor_needed"
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=pending.token)  # the password alone opens nothing
    code = next_code(app)
    done = auth.verify_second_factor(vault=v, token=pending.token, code=code, client_address="192.0.2.1")
    assert done.status == "signed_in" and done.token != pending.token
    session = auth.resolve_session(vault=v, token=done.token)
    assert session.second_factor and session.user == "clara"
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=pending.token)  # the pending token is dead
    with pytest.raises(NotAuthenticated, match="expired or is unknown"):
        auth.verify_second_factor(vault=v, token=pending.token, code=code)
    # The same code again, within its window, for a new sign-in: refused (and counted).
    again = sign_in(v, "clara")
    with pytest.raises(NotAuthenticated, match="wrong code"):
        auth.verify_second_factor(vault=v, token=again.token, code=code)
    assert user_row(v, "clara").failed_sign_ins == 1
    recorded = [d for d in (json.loads(e.details) for e in events(v, "auth.sign_in")) if d.get("step")]
    assert {"method": "totp", "step": "second factor", "client": "192.0.2.1"}.items() <= recorded[-2].items()
    assert recorded[-1]["reason"] == "wrong code"
    # A pending sign-in lasts minutes, not hours.
    execute(v, update(orm.sessions).values(ends_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(NotAuthenticated, match="expired or is unknown"):
        auth.verify_second_factor(vault=v, token=again.token, code=next_code(app))


def test_wrong_codes_lock_the_account_like_wrong_passwords(v):
    app, _ = enrol(v, "clara")
    pending = sign_in(v, "clara")
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            auth.verify_second_factor(vault=v, token=pending.token, code=wrong_code(app))
    assert user_row(v, "clara").locked_at is not None
    with pytest.raises(NotAuthenticated):
        auth.verify_second_factor(vault=v, token=pending.token, code=next_code(app))


def test_recovery_codes_work_once_and_can_be_replaced(v):
    app, codes = enrol(v, "clara")
    first = sign_in(v, "clara")
    done = auth.verify_second_factor(vault=v, token=first.token, code=codes[0])
    assert done.status == "signed_in"
    [*_, event] = events(v, "auth.sign_in")
    assert json.loads(event.details)["method"] == "recovery_code"
    assert json.loads(event.details)["recovery_codes_left"] == 9
    second = sign_in(v, "clara")
    with pytest.raises(NotAuthenticated, match="wrong code"):
        auth.verify_second_factor(vault=v, token=second.token, code=codes[0])  # used
    # Typed in capitals, without the dash: still the same code.
    assert auth.verify_second_factor(vault=v, token=second.token,
                                     code=codes[1].replace("-", "").upper()).status == "signed_in"
    with pytest.raises(InvalidInput, match="wrong code"):
        second_factor.new_recovery_codes(vault=v, actor="clara", code=codes[2])  # needs the app's code
    fresh = second_factor.new_recovery_codes(vault=v, actor="clara", code=next_code(app))
    assert not set(fresh) & set(codes)
    third = sign_in(v, "clara")
    with pytest.raises(NotAuthenticated):
        auth.verify_second_factor(vault=v, token=third.token, code=codes[3])  # replaced: the old ones are gone
    assert auth.verify_second_factor(vault=v, token=third.token, code=fresh[0]).status == "signed_in"


def test_turning_it_off_needs_a_code_and_an_admin_can_reset_it(v):
    app, codes = enrol(v, "max")
    with pytest.raises(InvalidInput, match="wrong code"):
        second_factor.disable_totp(vault=v, actor="max", code=codes[0][:5])
    assert user_row(v, "max").failed_sign_ins == 1
    second_factor.disable_totp(vault=v, actor="max", code=codes[0])
    row = user_row(v, "max")
    assert not row.totp_enabled and row.totp_secret_sealed is None
    assert sign_in(v, "max").enrolment_required  # a manager must set it up again
    # Lost phone: the admin resets it; the user's sessions end, and the reset is audited.
    enrol(v, "max")
    pending = sign_in(v, "max")
    with pytest.raises(PermissionDenied):
        second_factor.reset_second_factor(vault=v, actor="clara", name="max")
    with pytest.raises(InvalidInput, match="your own"):
        second_factor.reset_second_factor(vault=v, actor="admin", name="admin")
    second_factor.reset_second_factor(vault=v, actor="admin", name="max")
    [reset] = events(v, "auth.totp_reset")
    assert reset.actor == "admin" and reset.object_id == "max" and json.loads(reset.details)["was_on"] is True
    with pytest.raises(NotAuthenticated):
        auth.verify_second_factor(vault=v, token=pending.token, code="123456")
    after = sign_in(v, "max")
    assert after.status == "signed_in" and after.enrolment_required


# --------------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------------

def test_sessions_end_when_idle_or_at_their_absolute_limit(v):
    idle, ended, active = sign_in(v, "clara"), sign_in(v, "clara"), sign_in(v, "clara")
    infos = {name: auth.resolve_session(vault=v, token=r.token) for name, r in
             (("idle", idle), ("ended", ended), ("active", active))}
    now = utcnow()
    s = orm.sessions
    execute(v, update(s).where(s.c.id == infos["idle"].id).values(last_seen_at=now - timedelta(minutes=31)))
    execute(v, update(s).where(s.c.id == infos["ended"].id).values(ends_at=now - timedelta(seconds=1)))
    execute(v, update(s).where(s.c.id == infos["active"].id).values(last_seen_at=now - timedelta(minutes=29),
                                                                     created_at=now - timedelta(hours=11)))
    for token in (idle.token, ended.token, "not a token", ""):
        with pytest.raises(NotAuthenticated, match="sign in again"):
            auth.resolve_session(vault=v, token=token)
    still = auth.resolve_session(vault=v, token=active.token)
    assert still.user == "clara"
    with v.uow() as uow:
        seen = uow.session.scalar(select(s.c.last_seen_at).where(s.c.id == still.id))
    assert now - (seen if seen.tzinfo else seen.replace(tzinfo=now.tzinfo)) < timedelta(minutes=1)  # refreshed
    # The absolute limit is 12 hours from sign-in, whatever the activity.
    assert infos["active"].ends_at is not None
    fresh = sign_in(v, "clara")
    assert timedelta(hours=11, minutes=59) < fresh.expires_at - now <= timedelta(hours=12, minutes=1)


def test_sign_out_and_sign_out_everywhere(v):
    a, b, c = sign_in(v, "clara"), sign_in(v, "clara"), sign_in(v, "clara")
    auth.sign_out(vault=v, token=a.token)
    auth.sign_out(vault=v, token=a.token)  # twice: nothing more happens
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=a.token)
    keep = auth.resolve_session(vault=v, token=b.token)
    assert auth.sign_out_everywhere(vault=v, actor="clara", keep_session=keep.id) == 1
    assert auth.resolve_session(vault=v, token=b.token).user == "clara"
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=c.token)
    with pytest.raises(PermissionDenied):
        auth.sign_out_everywhere(vault=v, actor="vera", name="clara")
    assert auth.sign_out_everywhere(vault=v, actor="admin", name="clara") == 1
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=b.token)
    assert [e.action for e in events(v, "auth.sign_out*")] == ["auth.sign_out", "auth.sign_out_everywhere",
                                                                "auth.sign_out_everywhere"]


def test_csrf_tokens_belong_to_their_session(v):
    one = auth.resolve_session(vault=v, token=sign_in(v, "clara").token)
    two = auth.resolve_session(vault=v, token=sign_in(v, "clara").token)
    token = auth.csrf_token(vault=v, session=one)
    assert len(token) >= 40 and token == auth.csrf_token(vault=v, session=one)
    auth.check_csrf(vault=v, session=one, token=token)
    for wrong in (auth.csrf_token(vault=v, session=two), token[:-1], "", None, token + "x", "ü" * 43):
        with pytest.raises(PermissionDenied, match="CSRF"):
            auth.check_csrf(vault=v, session=one, token=wrong)


def test_a_disabled_users_sessions_and_tokens_stop_working(v):
    session = sign_in(v, "clara")
    made = tokens.create_token(vault=v, actor="clara", name="sync")
    users.set_role(vault=v, actor="admin", name="clara", disabled=True)
    [edit] = events(v, "user.edit")[-1:]
    assert json.loads(edit.details)["sessions_ended"] == 1
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=session.token)
    with pytest.raises(NotAuthenticated, match="invalid, expired or revoked"):
        tokens.resolve_token(vault=v, token=made.token)
    with pytest.raises(NotAuthenticated, match="disabled"):
        sign_in(v, "clara")  # the right password: now it may say why
    users.set_role(vault=v, actor="admin", name="clara", disabled=False)
    assert tokens.resolve_token(vault=v, token=made.token).user == "clara"  # tokens come back
    with pytest.raises(NotAuthenticated):
        auth.resolve_session(vault=v, token=session.token)  # sessions do not


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------

def test_token_create_list_use_and_revoke(v):
    made = tokens.create_token(vault=v, actor="clara", name="nightly export", scope=["customer.read"],
                               expires_in_days=30)
    assert made.token.startswith(made.view.prefix + "_") and made.view.prefix.startswith("cf_")
    assert made.token not in repr(made)
    [listed] = tokens.list_tokens(vault=v, actor="clara")
    assert (listed.name, listed.prefix, listed.scope, listed.last_used_at) == (
        "nightly export", made.view.prefix, ["customer.read"], None)
    assert made.token not in repr(listed.to_dict())
    identity = tokens.resolve_token(vault=v, token=made.token)
    assert (identity.user, identity.scope) == ("clara", ["customer.read"])
    assert tokens.list_tokens(vault=v, actor="clara")[0].last_used_at is not None
    # Another user's tokens: user.read to list, user.manage to revoke.
    assert [t.prefix for t in tokens.list_tokens(vault=v, actor="audrey", user="clara")] == [made.view.prefix]
    with pytest.raises(PermissionDenied):
        tokens.list_tokens(vault=v, actor="vera", user="clara")
    with pytest.raises(PermissionDenied):
        tokens.revoke_token(vault=v, actor="vera", token_id=made.view.id)
    with pytest.raises(NotFound):
        tokens.revoke_token(vault=v, actor="clara", token_id=9999)
    revoked = tokens.revoke_token(vault=v, actor="clara", token_id=made.view.id)
    assert revoked.revoked_at is not None
    with pytest.raises(NotAuthenticated, match="invalid, expired or revoked"):
        tokens.resolve_token(vault=v, token=made.token)
    assert tokens.list_tokens(vault=v, actor="clara") == []
    assert len(tokens.list_tokens(vault=v, actor="clara", include_revoked=True)) == 1
    for bad in ("cf_", made.token[:-1] + ("A" if made.token[-1] != "A" else "B"), "", "Bearer x"):
        with pytest.raises(NotAuthenticated):
            tokens.resolve_token(vault=v, token=bad)
    assert [e.action for e in events(v, "token.*")] == ["token.create", "token.revoke"]


def test_expired_tokens_stop_working_and_limits_are_checked(v):
    made = tokens.create_token(vault=v, actor="clara", name="short", expires_in_days=1)
    t = orm.api_tokens
    execute(v, update(t).where(t.c.id == made.view.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(NotAuthenticated):
        tokens.resolve_token(vault=v, token=made.token)
    for kwargs, fragment in (({"expires_in_days": 0}, "expire in 1 to"), ({"expires_in_days": 5000}, "expire"),
                             ({"name": ""}, "name"), ({"scope": ["customer.merge"]}, "only narrow"),
                             ({"scope": ["account.self"]}, "cannot carry"), ({"scope": []}, "non-empty")):
        with pytest.raises(InvalidInput, match=fragment):
            tokens.create_token(vault=v, actor="clara", **{"name": "x", **kwargs})


def test_a_token_scope_limits_every_service_and_is_audited(v):
    reader = tokens.create_token(vault=v, actor="clara", name="reader", scope=["customer.read"])
    full = tokens.create_token(vault=v, actor="clara", name="full")
    as_reader = tokens.resolve_token(vault=v, token=reader.token).principal
    as_full = tokens.resolve_token(vault=v, token=full.token).principal
    seq = head(v)
    with pytest.raises(PermissionDenied, match="does not allow customer.create"):
        customers.add_customer(vault=v, actor=as_reader, name="张伟", kind="person", tier="key")
    [denied] = events(v, since=seq)
    assert (denied.actor, denied.action, denied.outcome) == ("clara", "customer.create", "denied")
    assert json.loads(denied.details)["via"] == f"token {reader.view.prefix}"
    assert customers.list_customers(vault=v, actor=as_reader).total == 0  # what the scope allows works
    made = customers.add_customer(vault=v, actor=as_full, name="张伟", kind="person", tier="key")
    [created] = events(v, "customer.create", since=seq)[-1:]
    assert (created.actor, created.outcome) == ("clara", "ok")
    assert json.loads(created.details)["via"] == f"token {full.view.prefix}"
    # A token never manages credentials, whatever its scope.
    for call in (lambda a: tokens.create_token(vault=v, actor=a, name="child"),
                 lambda a: auth.set_password(vault=v, actor=a, name="clara", new_password="Green-Meadow-7312",
                                             current_password=PW["clara"]),
                 lambda a: second_factor.start_totp(vault=v, actor=a)):
        with pytest.raises(PermissionDenied, match="does not allow account.self"):
            call(as_full)
    # The role is the ceiling: lowered to viewer, the full token may no longer create customers.
    users.set_role(vault=v, actor="admin", name="clara", role="viewer")
    as_full = tokens.resolve_token(vault=v, token=full.token).principal
    with pytest.raises(PermissionDenied, match="role viewer may not customer.create"):
        customers.add_customer(vault=v, actor=as_full, name="李娜", kind="person", tier="key")
    assert customers.show_customer(vault=v, actor=as_full, code=made.code).name == "张伟"


# --------------------------------------------------------------------------------------------------
# No secret at rest or in the trail
# --------------------------------------------------------------------------------------------------

def _everything_stored(v) -> str:
    with v.uow() as uow:
        rows = {t.name: [tuple(r) for r in uow.session.execute(select(t))] for t in orm.metadata.sorted_tables}
    return repr(rows)


def test_no_password_token_or_totp_secret_in_the_database_or_the_audit_trail(v, vault_home):
    secrets = [PW["clara"], PW["max"], PW["admin"], "Green-Meadow-7312", "Wrong-Guess-4242"]
    first = sign_in(v, "clara")
    secrets.append(first.token)
    with pytest.raises(NotAuthenticated):
        sign_in(v, "clara", "Wrong-Guess-4242")
    session = auth.resolve_session(vault=v, token=first.token)
    secrets.append(auth.csrf_token(vault=v, session=session))
    started = second_factor.start_totp(vault=v, actor="max")
    app = pyotp.TOTP(started.secret)
    codes = second_factor.confirm_totp(vault=v, actor="max", code=app.now())
    secrets += [started.secret, *codes, *(c.replace("-", "") for c in codes)]
    pending = sign_in(v, "max")
    done = auth.verify_second_factor(vault=v, token=pending.token, code=codes[0])
    secrets += [pending.token, done.token]
    made = tokens.create_token(vault=v, actor="clara", name="ci", scope=["customer.read"])
    secrets.append(made.token)
    secrets.append(made.token.split("_", 2)[2])  # the random part alone
    tokens.resolve_token(vault=v, token=made.token)
    auth.set_password(vault=v, actor="clara", name="clara", new_password="Green-Meadow-7312",
                      current_password=PW["clara"])
    stored = _everything_stored(v)
    trail = repr([(e.actor, e.action, e.object_id, e.details) for e in events(v)])
    assert "clara" in stored and "token.create" in trail  # the gathering itself works
    for secret in secrets:
        assert secret not in stored, f"a secret is stored in plaintext: {secret[:4]}..."
        assert secret not in trail, f"a secret is in the audit trail: {secret[:4]}..."
    assert started.secret.encode() not in b"".join(
        bytes(r.totp_secret_sealed) for r in [user_row(v, "max")])  # sealed, not encoded
    url = read_settings(vault_home).database_url
    if url.startswith("sqlite"):  # the raw file and its write-ahead log too
        raw = b"".join(p.read_bytes() for p in Path(vault_home).glob("clientfolio.db*"))
        for secret in secrets:
            assert secret.encode() not in raw
    assert audit.audit_verify(vault=v, actor="admin").ok
