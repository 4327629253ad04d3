"""Sign-in rules without a database: password policy, sessions' limits, token scopes and their intersection."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from clientfolio.domain import policy
from clientfolio.domain.credentials import (AuthSettings, Principal, auth_settings_from_config, check_password,
                                            looks_like_totp, normalize_recovery_code, session_refusal,
                                            token_rights, token_scope)
from clientfolio.domain.errors import InvalidInput, PermissionDenied
from clientfolio.domain.model import Role, User
from clientfolio.domain.policy import Action

# --- passwords ------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Blue-Lantern-4471", "correct horse battery staple", "tr0ub4dor&3XY",
                                      "我的密码是一只很长很长的蓝色灯笼", "Zhang.Wei.1949.Beijing"])
def test_good_passwords_pass(password):
    assert check_password(password, user_name="clara") == password


@pytest.mark.parametrize(("password", "fragment"), [
    ("Short-1a", "too short"),
    ("", "required"),
    ("alllowercase", "too simple"),  # 12 characters, one kind
    ("lowercase1234", "too simple"),  # two kinds, under 16
    ("Clara-Secret-123", "user name"),
    ("clara", "too short"),
    ("Password1234!", "too common"),  # a common word with digits and symbols around it
    ("qwertyuiop123!", "too common"),
    ("aaaaaaaaaaaaaaaaaaaa", "too common"),
    (" Blue-Lantern-4471", "space"),
    ("我的密码很短", "too short"),
])
def test_weak_passwords_are_refused_with_a_reason(password, fragment):
    with pytest.raises(InvalidInput) as caught:
        check_password(password, user_name="clara")
    assert fragment in caught.value.message
    if password:
        assert password not in caught.value.message  # the message never repeats the password


def test_sixteen_characters_of_one_kind_are_enough_and_full_width_is_folded():
    assert check_password("lanternsinthesky", user_name="x") == "lanternsinthesky"
    # typed with a Chinese input method in full-width mode: the same password as the half-width one
    assert check_password("Ｂｌｕｅ－Ｌａｎｔｅｒｎ－４４７１", user_name="x") == "Blue-Lantern-4471"


def test_minimum_length_is_configurable():
    settings = AuthSettings(min_password_length=20)
    with pytest.raises(InvalidInput, match="at least 20"):
        check_password("Blue-Lantern-4471", user_name="x", settings=settings)


# --- settings -------------------------------------------------------------------------------------


def test_auth_settings_from_config():
    s = auth_settings_from_config({"session_idle_minutes": 10, "second_factor_roles": ["admin"],
                                   "lock_after_failures": 3})
    assert s.session_idle == timedelta(minutes=10) and s.lock_after_failures == 3
    assert s.requires_second_factor("admin") and not s.requires_second_factor("manager")
    default = auth_settings_from_config({})
    assert {r for r in ("manager", "auditor", "admin") if default.requires_second_factor(r)} == {
        "manager", "auditor", "admin"}
    assert not default.requires_second_factor("clerk")
    for bad in ({"session_idle_minutes": 0}, {"second_factor_roles": ["boss"]}, {"lock_after": 3},
                {"lock_after_failures": True}):
        with pytest.raises(InvalidInput, match=r"\[auth\]"):
            auth_settings_from_config(bad)


# --- sessions -------------------------------------------------------------------------------------


def test_session_idle_and_absolute_limits():
    s = AuthSettings()
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    ok = dict(now=now, last_seen_at=now - timedelta(minutes=29), ends_at=now + timedelta(hours=1), revoked_at=None,
              settings=s)
    assert session_refusal(**ok) is None
    assert session_refusal(**{**ok, "last_seen_at": now - timedelta(minutes=30)}) == "idle too long"
    assert session_refusal(**{**ok, "ends_at": now}) == "expired"
    assert session_refusal(**{**ok, "revoked_at": now}) == "signed out"
    naive = now.replace(tzinfo=None)  # SQLite gives naive UTC back
    assert session_refusal(**{**ok, "last_seen_at": naive, "ends_at": naive + timedelta(hours=1)}) is None


def test_code_shapes():
    assert looks_like_totp("123456") and looks_like_totp("123 456") and looks_like_totp("１２３４５６")
    assert not looks_like_totp("12345") and not looks_like_totp("abcde-fghjk")
    assert normalize_recovery_code(" ABCDE-fghjk ") == "abcdefghjk"


# --- token scopes and their intersection with the role ----------------------------------------------


def test_token_scope_may_only_narrow_the_role():
    assert token_scope("clerk", ["customer.read", "customer.read", "document.read_meta"]) == [
        "customer.read", "document.read_meta"]
    assert token_scope("clerk", None) is None
    with pytest.raises(InvalidInput, match="role clerk does not have customer.merge"):
        token_scope("clerk", ["customer.read", "customer.merge"])
    with pytest.raises(InvalidInput, match="unknown action"):
        token_scope("admin", ["customer.raed"])
    with pytest.raises(InvalidInput, match="cannot carry account.self"):
        token_scope("admin", ["account.self"])
    with pytest.raises(InvalidInput, match="non-empty"):
        token_scope("admin", [])


def _user(role: str, **kw) -> User:
    u = User("u", Role(role), **kw)
    u.id = 1
    return u


def test_effective_rights_are_the_intersection_of_role_and_scope():
    clerk = policy.narrow(_user("clerk"), token_rights(["customer.read", "document.read_meta"]))
    assert policy.effective_actions(clerk) == {Action.CUSTOMER_READ, Action.DOCUMENT_READ_META}
    assert not policy.allows(clerk, Action.CUSTOMER_CREATE)
    with pytest.raises(PermissionDenied, match="does not allow customer.create"):
        policy.authorize(clerk, Action.CUSTOMER_CREATE)
    # A scope naming more than the role (the role was lowered after the token was made) gives no more.
    viewer = policy.narrow(_user("viewer"), token_rights(["customer.read", "customer.create"]))
    assert policy.effective_actions(viewer) == {Action.CUSTOMER_READ}
    with pytest.raises(PermissionDenied, match="role viewer may not customer.create"):
        policy.authorize(viewer, Action.CUSTOMER_CREATE)
    # The whole role (scope None), but never one's own credentials through a token.
    admin = policy.narrow(_user("admin"), token_rights(None))
    assert policy.effective_actions(admin) == frozenset(Action) - {Action.ACCOUNT_SELF}
    # Scopes applied twice only narrow further.
    policy.narrow(admin, frozenset({"customer.read", "audit.read"}))
    policy.narrow(admin, frozenset({"audit.read", "user.read"}))
    assert policy.effective_actions(admin) == {Action.AUDIT_READ}
    # A disabled user has nothing, scope or not.
    assert policy.effective_actions(policy.narrow(_user("admin"), None)) == frozenset(Action)
    disabled = _user("admin")
    disabled.disabled = True
    assert policy.effective_actions(disabled) == frozenset()


def test_sensitive_documents_need_the_sensitive_right_in_the_scope_too():
    class Doc:
        is_sensitive = True
        id = 7

    manager = policy.narrow(_user("manager"), token_rights(["customer.read", "document.read_meta"]))
    assert not policy.may_see_document_meta(manager, Doc())
    with pytest.raises(PermissionDenied, match="sensitive"):
        policy.authorize(manager, Action.DOCUMENT_READ_META, document=Doc())


def test_principal_is_the_user_name_with_limits():
    p = Principal("clara", ["customer.read"], via="token cf_abcdefgh")
    assert p == "clara" and str(p) == "clara" and isinstance(p, str) and f"{p}" == "clara"
    assert p.scope == {"customer.read"} and p.via == "token cf_abcdefgh"
    again = pickle.loads(pickle.dumps(p))
    assert (again, again.scope, again.via) == (p, p.scope, p.via)
    assert Principal("clara").scope is None
