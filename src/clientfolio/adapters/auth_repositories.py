"""Queries for sign-in security: sessions, failed sign-ins per address, recovery codes, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from clientfolio.adapters import orm
from clientfolio.domain.credentials import ApiToken, RecoveryCode, SignInSession
from clientfolio.domain.model import User


class AuthRepository:
    def __init__(self, session: Session):
        self.session = session

    # users ----------------------------------------------------------------------------------------

    def user_for_update(self, user_id: int) -> User | None:
        """The user row, locked for the rest of the transaction (PostgreSQL; SQLite's writers are serialized
        anyway), with fresh values: counters of failed attempts are never lost to a concurrent attempt."""
        stmt = (select(User).where(orm.users.c.id == user_id).with_for_update()
                .execution_options(populate_existing=True))
        return self.session.scalars(stmt).first()

    # failed sign-ins per client address -----------------------------------------------------------

    def address_failures(self, address: str, since: datetime) -> int:
        f = orm.sign_in_failures.c
        stmt = select(func.count()).select_from(orm.sign_in_failures).where(f.client_address == address,
                                                                             f.at >= since)
        return self.session.scalar(stmt) or 0

    def add_address_failure(self, address: str, at: datetime, *, forget_before: datetime) -> None:
        t = orm.sign_in_failures
        self.session.execute(delete(t).where(t.c.at < forget_before))  # the table holds one window only
        self.session.execute(t.insert().values(client_address=address, at=at))

    # sessions -------------------------------------------------------------------------------------

    def add_session(self, s: SignInSession) -> None:
        self.session.add(s)
        self.session.flush()

    def session_by_id(self, session_id: str) -> SignInSession | None:
        return self.session.get(SignInSession, session_id)

    def revoke_sessions(self, user_id: int, at: datetime, *, keep: str | None = None) -> int:
        """End every live session of a user (but `keep`); returns how many."""
        s = orm.sessions
        stmt = update(s).where(s.c.user_id == user_id, s.c.revoked_at.is_(None), s.c.ends_at > at)
        if keep:
            stmt = stmt.where(s.c.id != keep)
        result = self.session.execute(stmt.values(revoked_at=at).execution_options(synchronize_session="fetch"))
        return result.rowcount or 0

    def forget_sessions_ended_before(self, at: datetime) -> None:
        s = orm.sessions
        self.session.execute(delete(s).where(s.c.ends_at < at))

    # recovery codes -------------------------------------------------------------------------------

    def replace_recovery_codes(self, user_id: int, hashes: list[str]) -> None:
        self.delete_recovery_codes(user_id)
        self.session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)
        self.session.flush()

    def delete_recovery_codes(self, user_id: int) -> None:
        r = orm.recovery_codes
        self.session.execute(delete(r).where(r.c.user_id == user_id).execution_options(synchronize_session=False))

    def use_recovery_code(self, user_id: int, code_hash: str, at: datetime) -> bool:
        """Mark an unused code used; False if there is no such unused code (one-time, even under a race)."""
        r = orm.recovery_codes
        result = self.session.execute(
            update(r).where(r.c.user_id == user_id, r.c.code_hash == code_hash, r.c.used_at.is_(None))
            .values(used_at=at).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def unused_recovery_codes(self, user_id: int) -> int:
        r = orm.recovery_codes
        return self.session.scalar(select(func.count()).select_from(r)
                                   .where(r.c.user_id == user_id, r.c.used_at.is_(None))) or 0

    # API tokens -----------------------------------------------------------------------------------

    def add_token(self, token: ApiToken) -> None:
        self.session.add(token)
        self.session.flush()

    def token(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalars(select(ApiToken).where(orm.api_tokens.c.token_hash == token_hash)).first()

    def tokens_of(self, user_id: int, *, include_revoked: bool = False) -> list[ApiToken]:
        t = orm.api_tokens.c
        stmt = select(ApiToken).where(t.user_id == user_id)
        if not include_revoked:
            stmt = stmt.where(t.revoked_at.is_(None))
        return list(self.session.scalars(stmt.order_by(t.created_at.desc(), t.id.desc())))
