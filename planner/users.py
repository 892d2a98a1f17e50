"""People who may use the review app, with their role, in the commune's plan store.

Roles: ``planner`` (edit, solve, see voter lists), ``reviewer`` (comment, approve), ``viewer``
(read). Passwords are stored as scrypt hashes with a random salt, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from planner.store import PlanStore, StoreError, metadata

ROLES = ("planner", "reviewer", "viewer")
PERMISSIONS = {
    "planner": {"view", "edit", "solve", "voter_lists", "comment", "download"},
    "reviewer": {"view", "comment", "approve", "download"},
    "viewer": {"view"},
}

users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password", sa.Text, nullable=False),
    extend_existing=True,
)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2 ** 14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hash_password(password, salt=bytes.fromhex(salt)).split("$")[2]
    return hmac.compare_digest(candidate, digest)


def add_user(store: PlanStore, name: str, role: str, password: str) -> None:
    if role not in ROLES:
        raise StoreError("bad_role", f"Vai trò {role!r} không hợp lệ ({', '.join(ROLES)})",
                         f"Role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise StoreError("weak_password", "Mật khẩu cần ít nhất 8 ký tự", "The password needs at least 8 characters")
    metadata.create_all(store.engine, tables=[users])
    with store.engine.begin() as conn:
        conn.execute(users.delete().where(users.c.name == name))
        conn.execute(users.insert().values(name=name, role=role, password=hash_password(password)))


def authenticate(store: PlanStore, name: str, password: str) -> str | None:
    """The user's role when the password is right, else None."""
    metadata.create_all(store.engine, tables=[users])
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
    if row is None or not verify_password(password, row["password"]):
        return None
    return str(row["role"])


def can(role: str | None, permission: str) -> bool:
    return role is not None and permission in PERMISSIONS.get(role, set())
