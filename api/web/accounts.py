"""Service accounts: creating them, passwords, the failed-login lockout, and what a request's account may do.

Shared by the service (login) and ``caltrace users``. Every change is written through a registry session, so it is
audited (the password hash redacted) with the actor who made it; a failed login is recorded as an update of the
account's counter by the actor ``login:<username>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.web.security import check_password_rule, hash_password, needs_rehash, verify_password
from registry.db import read_session, session_scope
from registry.errors import NotFoundError, NotPermittedError
from registry.models import ACCOUNT_ROLES, Staff, UserAccount
from registry.queries import find_staff

#: roles that act as a member of staff (their account must name one): what they may perform, review and sign is
#: decided per procedure by that staff member's authorisations
STAFF_ROLES = frozenset({"technician", "reviewer", "signatory"})


@dataclass(frozen=True)
class Account:
    """A logged-in account as a request sees it (detached from any session)."""

    id: int
    username: str
    roles: frozenset[str]
    staff_id: int | None
    staff_username: str | None
    token_version: int

    @property
    def actor(self) -> str:
        """Who the audit log records for this account's writes: the account's username."""
        return self.username

    def has(self, *roles: str) -> bool:
        """True when the account holds any of ``roles``."""
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class AccountRow:
    """One account for listings (``caltrace users list``, the admin API)."""

    username: str
    roles: tuple[str, ...]
    staff: str | None
    active: bool
    failed_logins: int
    locked_until: datetime | None


class LoginRefused(Exception):  # noqa: N818 - a refusal, not a bug
    """A login refused: ``reason`` invalid (unknown user, wrong password, inactive) or locked (until ``until``)."""

    def __init__(self, reason: Literal["invalid", "locked"], until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The roles, checked and in the canonical order; ValueError naming an unknown one or none at all."""
    given = {r.strip().casefold() for r in roles if r.strip()}
    unknown = sorted(given - set(ACCOUNT_ROLES))
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}: the roles are {', '.join(ACCOUNT_ROLES)}")
    if not given:
        raise ValueError(f"give at least one role: {', '.join(ACCOUNT_ROLES)}")
    return tuple(r for r in ACCOUNT_ROLES if r in given)


def _view(account: UserAccount) -> Account:
    return Account(
        account.id,
        account.username,
        account.role_set,
        account.staff_id,
        account.staff.username if account.staff is not None else None,
        account.token_version,
    )


def _find(s: Session, username: str, *, lock: bool = False) -> UserAccount | None:
    query = select(UserAccount).where(UserAccount.username == username.strip())
    return s.scalars(query.with_for_update() if lock else query).first()


def _require(s: Session, username: str) -> UserAccount:
    found = _find(s, username, lock=True)
    if found is None:
        raise NotFoundError(f"no account {username!r}: `caltrace users list` shows them")
    return found


def add_account(
    s: Session, username: str, password: str, roles: Iterable[str], staff_username: str | None = None
) -> UserAccount:
    """Create an account in ``s``; ValueError for a bad username, password or role, NotFoundError for an unknown
    staff member, NotPermittedError for a taken username or a staff role without a member of staff."""
    username = username.strip()
    if not username or any(c.isspace() for c in username) or len(username) > 60:
        raise ValueError(f"{username!r}: a username is one word of at most 60 characters (e.g. lan)")
    checked = check_roles(roles)
    check_password_rule(password)
    staff: Staff | None = None
    if staff_username:
        staff = find_staff(s, staff_username)
        if staff is None:
            raise NotFoundError(f"no member of staff {staff_username!r}: caltrace registry staff list shows them")
    elif STAFF_ROLES.intersection(checked):
        raise NotPermittedError(
            f"roles {', '.join(sorted(STAFF_ROLES.intersection(checked)))} act as a member of staff: "
            "name one with --staff USERNAME (caltrace registry staff list)"
        )
    if _find(s, username) is not None:
        raise NotPermittedError(f"the account {username!r} exists already: caltrace users passwd {username}")
    account = UserAccount(
        username=username,
        staff=staff,
        password_hash=hash_password(password),
        roles=",".join(checked),
        active=True,
        failed_logins=0,
        token_version=0,
    )
    s.add(account)
    s.flush()
    return account


def set_password(s: Session, username: str, password: str, now: datetime) -> None:
    """Give ``username`` a new password; every earlier session and token of the account ends."""
    check_password_rule(password)
    account = _require(s, username)
    account.password_hash = hash_password(password)
    account.password_changed_at = now
    account.token_version += 1


def unlock(s: Session, username: str) -> bool:
    """Clear the account's lock and failed-login count; False when it was not locked nor counting failures."""
    account = _require(s, username)
    if account.locked_until is None and account.failed_logins == 0:
        return False
    account.locked_until = None
    account.failed_logins = 0
    return True


def list_accounts(s: Session) -> list[AccountRow]:
    """Every account, by username."""
    return [
        AccountRow(
            a.username,
            tuple(r for r in ACCOUNT_ROLES if r in a.role_set),
            a.staff.username if a.staff is not None else None,
            a.active,
            a.failed_logins,
            a.locked_until,
        )
        for a in s.scalars(select(UserAccount).order_by(UserAccount.username))
    ]


def authenticate(
    engine: Engine, username: str, password: str, *, now: datetime, attempts: int, lock_for: timedelta
) -> Account:
    """The account when ``password`` is right and the account usable; else :class:`LoginRefused`.

    A wrong password counts against the account; the ``attempts``-th in a row locks it for ``lock_for``, during
    which even the right password is refused. A good login clears the count. The counter is written (and audited)
    before the refusal is raised.
    """
    refused: LoginRefused | None = None
    with session_scope(engine, f"login:{username.strip()[:50]}") as s:
        account = _find(s, username, lock=True)
        if account is None:
            verify_password(None, password)  # the same work as for a known user: no timing hint
            refused = LoginRefused("invalid")
        elif account.locked_until is not None and account.locked_until > now:
            refused = LoginRefused("locked", account.locked_until)
        else:
            usable = account.active and (account.staff is None or account.staff.active)
            if verify_password(account.password_hash, password) and usable:
                if account.failed_logins or account.locked_until is not None:
                    account.failed_logins, account.locked_until = 0, None
                if needs_rehash(account.password_hash):
                    account.password_hash = hash_password(password)
                return _view(account)
            account.failed_logins += 1
            if account.failed_logins >= attempts:
                account.failed_logins, account.locked_until = 0, now + lock_for
                refused = LoginRefused("locked", account.locked_until)
            else:
                refused = LoginRefused("invalid")
    assert refused is not None  # every path that did not log in set it
    raise refused


def account_for_token(engine: Engine, account_id: int, version: int, now: datetime) -> Account | None:
    """The account a token names, when it is still usable with that token version (None: log in again)."""
    with read_session(engine) as s:
        account = s.get(UserAccount, account_id)
        if account is None or not account.active or account.token_version != version:
            return None
        if account.locked_until is not None and account.locked_until > now:
            return None
        if account.staff is not None and not account.staff.active:
            return None
        return _view(account)


def end_sessions(engine: Engine, account: Account) -> None:
    """Invalidate every session and token of ``account`` (logout)."""
    with session_scope(engine, account.actor) as s:
        found = s.get(UserAccount, account.id, with_for_update=True)
        if found is not None:
            found.token_version += 1
