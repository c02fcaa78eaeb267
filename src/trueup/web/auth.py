"""Who may use the dashboard, and what each role may do.

Users have one role. A password is stored as an argon2id hash; API tokens and browser sessions are random
secrets stored only as SHA-256 digests (a copy of the database opens nothing). A browser session carries a
CSRF token that every form posts back. Failed logins are rate-limited per user name and per client address.

Roles:
  admin      sees everything, acts on every exception, may reveal personal data (audited)
  finance    acts on exceptions owned by finance
  ecommerce  acts on exceptions owned by ecommerce
  warehouse  acts on exceptions owned by warehouse
  cx         customer service: reads the queue and the order trace (with the customer's details), acts on none
  viewer     reads the queue and the overview, masked; no order trace, no actions
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from trueup.store.schema import web_credentials, web_users

ROLES = ("admin", "finance", "ecommerce", "warehouse", "cx", "viewer")
TEAMS = ("finance", "ecommerce", "warehouse")
SESSION_HOURS = 12
_HASHER = PasswordHasher()
# verified against when the user does not exist, so that a wrong name costs as long as a wrong password
_DUMMY = _HASHER.hash(secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    csrf: str = ""  # set for a browser session; empty for an API token (no cookie, so no CSRF to forge)

    def may_act_on(self, owner: str | None) -> bool:
        """A team acts on its own exceptions only; admin on all; cx and viewer on none."""
        return self.role == "admin" or (self.role in TEAMS and owner == self.role)

    @property
    def acts(self) -> bool:
        return self.role == "admin" or self.role in TEAMS

    @property
    def sees_trace(self) -> bool:
        return self.role in ("admin", "cx", *TEAMS)

    @property
    def sees_personal_data(self) -> bool:
        return self.role in ("admin", "cx")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_user(conn: Connection, name: str, role: str, password: str, now: datetime) -> int:
    if role not in ROLES:
        raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    existing = conn.execute(select(web_users.c.id).where(web_users.c.name == name)).scalar()
    values = {"role": role, "password_hash": _HASHER.hash(password), "disabled": False}
    if existing is not None:
        conn.execute(update(web_users).where(web_users.c.id == existing).values(**values))
        return int(existing)
    result = conn.execute(insert(web_users).values(name=name, created_at=now, **values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def disable_user(conn: Connection, name: str) -> bool:
    """Disable a user and end every session and token of theirs at once."""
    uid = conn.execute(select(web_users.c.id).where(web_users.c.name == name)).scalar()
    if uid is None:
        return False
    conn.execute(update(web_users).where(web_users.c.id == uid).values(disabled=True))
    conn.execute(delete(web_credentials).where(web_credentials.c.user_id == uid))
    return True


def list_users(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        select(web_users.c.name, web_users.c.role, web_users.c.disabled, web_users.c.created_at).order_by(
            web_users.c.name
        )
    )
    return [{"name": n, "role": r, "disabled": bool(d), "created_at": c.isoformat()} for n, r, d, c in rows]


def check_password(conn: Connection, name: str, password: str) -> User | None:
    row = conn.execute(
        select(web_users.c.id, web_users.c.role, web_users.c.password_hash).where(
            web_users.c.name == name, web_users.c.disabled.is_(False)
        )
    ).first()
    try:
        _HASHER.verify(row[2] if row else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(int(row[0]), name, str(row[1])) if row else None


def _issue(conn: Connection, kind: str, user_id: int, now: datetime, *, label: str, hours: int | None) -> str:
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(web_credentials).values(
            kind=kind,
            digest=digest(secret),
            user_id=user_id,
            label=label,
            csrf=secrets.token_urlsafe(24) if kind == "session" else "",
            created_at=now,
            expires_at=now + timedelta(hours=hours) if hours else None,
        )
    )
    return secret


def new_token(conn: Connection, name: str, label: str, now: datetime) -> str | None:
    """A new API token for `name`; the secret is returned once and kept only as its digest."""
    uid = conn.execute(
        select(web_users.c.id).where(web_users.c.name == name, web_users.c.disabled.is_(False))
    ).scalar()
    return None if uid is None else _issue(conn, "token", int(uid), now, label=label[:64], hours=None)


def new_session(conn: Connection, user: User, now: datetime) -> str:
    return _issue(conn, "session", user.id, now, label="browser", hours=SESSION_HOURS)


def end_session(conn: Connection, secret: str) -> None:
    conn.execute(
        delete(web_credentials).where(
            web_credentials.c.digest == digest(secret), web_credentials.c.kind == "session"
        )
    )


def user_for(conn: Connection, secret: str, kind: str, now: datetime) -> User | None:
    """The live user behind a session cookie or a bearer token, or None."""
    row = conn.execute(
        select(web_users.c.id, web_users.c.name, web_users.c.role, web_credentials.c.csrf)
        .join(web_users, web_users.c.id == web_credentials.c.user_id)
        .where(
            web_credentials.c.digest == digest(secret),
            web_credentials.c.kind == kind,
            web_users.c.disabled.is_(False),
            (web_credentials.c.expires_at.is_(None)) | (web_credentials.c.expires_at > now),
        )
    ).first()
    return User(int(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None


class LoginLimiter:
    """At most `attempts` failed logins per user name and per client address within `window`; a success does
    not reset the address's count (an attacker may own one account and guess another's)."""

    def __init__(
        self, clock: Callable[[], datetime], attempts: int = 5, window: timedelta = timedelta(minutes=5)
    ) -> None:
        self.clock = clock
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str) -> deque[datetime]:
        seen = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while seen and seen[0] < cutoff:
            seen.popleft()
        return seen

    def blocked(self, name: str, address: str) -> bool:
        return any(len(self._recent(k)) >= self.attempts for k in (f"u:{name}", f"a:{address}"))

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        for key in (f"u:{name}", f"a:{address}"):
            self._recent(key).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            self._failures = {k: v for k, v in self._failures.items() if self._recent(k)}
