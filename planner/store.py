"""The plan store: versions of a commune's plans, their states, comments, approvals and an audit log.

One SQLite file per commune project by default (``SCENARIO/_plans.sqlite``; files starting with
``_`` are not part of the scenario), or a PostgreSQL database given by a connection URL when a
province runs one server for all its communes. Every write is one transaction: a crash in the
middle leaves the store as it was.

States: ``draft`` -> ``proposed`` -> ``approved`` -> ``exported``. An approved version is
immutable (the database refuses the update too); changing it means a new version whose parent
it is. Saves are optimistic: whoever saves against an out-of-date head is refused with a
conflict naming the newer version, and the refused work is kept as a conflicting edit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

STATES = ("draft", "proposed", "approved", "exported")
TRANSITIONS = {"draft": {"proposed"}, "proposed": {"draft", "approved"}, "approved": {"exported"},
               "exported": set()}
DEFAULT_FILE = "_plans.sqlite"

metadata = sa.MetaData()
scenarios = sa.Table(
    "scenarios", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("commune_code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
versions = sa.Table(
    "versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id")),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("plan", sa.Text, nullable=False),  # JSON: assignment, areas, report
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.UniqueConstraint("scenario_id", "number"),
)
edits = sa.Table(
    "edits", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # saved | conflict
    sa.Column("payload", sa.Text, nullable=False),
)
comments = sa.Table(
    "comments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
approvals = sa.Table(
    "approvals", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False, unique=True),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
)
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("version_id", sa.Integer),
    sa.Column("details", sa.Text, nullable=False),
)

_SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS approved_frozen BEFORE UPDATE OF plan, checksum, parent_id ON versions "
    "WHEN OLD.state IN ('approved', 'exported') "
    "BEGIN SELECT RAISE(ABORT, 'an approved version is immutable'); END",
    "CREATE TRIGGER IF NOT EXISTS approved_no_delete BEFORE DELETE ON versions "
    "WHEN OLD.state IN ('approved', 'exported') "
    "BEGIN SELECT RAISE(ABORT, 'an approved version is immutable'); END",
)
_PG_GUARDS = (
    "CREATE OR REPLACE FUNCTION pollplan_refuse() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION '%%', TG_ARGV[0]; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_append_only ON audit",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION pollplan_refuse('the audit log is append-only')",
    "DROP TRIGGER IF EXISTS approved_frozen ON versions",
    "CREATE TRIGGER approved_frozen BEFORE DELETE OR UPDATE OF plan, checksum, parent_id ON versions "
    "FOR EACH ROW WHEN (OLD.state IN ('approved', 'exported')) "
    "EXECUTE FUNCTION pollplan_refuse('an approved version is immutable')",
)


class StoreError(Exception):
    """A refused operation, with a message a clerk can act on (Vietnamese and English)."""

    def __init__(self, code: str, vi: str, en: str):
        self.code, self.vi, self.en = code, vi, en
        super().__init__(en)


class Conflict(StoreError):
    """Someone saved a newer version first; ``newer`` is its number."""

    def __init__(self, newer: int, author: str):
        self.newer = newer
        super().__init__("conflict", f"Xung đột: {author} đã lưu phiên bản mới hơn số {newer}; hãy mở phiên bản đó "
                                     "và làm lại thay đổi (thay đổi của bạn đã được giữ lại)",
                         f"Conflict: {author} saved a newer version {newer}; open it and redo your change "
                         "(your change was kept)")


@dataclass(frozen=True)
class Version:
    id: int
    number: int
    parent: int | None
    state: str
    author: str
    created_at: dt.datetime
    note: str
    checksum: str
    plan: Mapping[str, Any]


def default_url(scenario_path: Path) -> str:
    folder = scenario_path if scenario_path.is_dir() else scenario_path.parent
    return f"sqlite:///{(folder / DEFAULT_FILE).resolve()}"


def plan_checksum(plan: Mapping[str, Any]) -> str:
    """SHA-256 of the plan's assignment and areas in a canonical form (what makes it this plan)."""
    canonical = json.dumps({"assignment": plan["assignment"], "areas": plan["areas"]}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class PlanStore:
    """Versions of the plans of communes, in SQLite or PostgreSQL."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.engine: Engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            # every transaction takes the write lock at once, so two writers never race on a stale read
            sa.event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":  # one process at a time sets the schema up
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727201)")
            metadata.create_all(conn)
            for statement in (_SQLITE_GUARDS if self.engine.dialect.name == "sqlite" else _PG_GUARDS):
                conn.exec_driver_sql(statement)

    def close(self) -> None:
        self.engine.dispose()

    # --- reading ---------------------------------------------------------------------------
    def _scenario_id(self, conn: Connection, commune_code: str) -> int | None:
        return conn.execute(sa.select(scenarios.c.id).where(scenarios.c.commune_code == commune_code)).scalar()

    def versions(self, commune_code: str) -> list[Version]:
        with self.engine.connect() as conn:
            sid = self._scenario_id(conn, commune_code)
            if sid is None:
                return []
            rows = conn.execute(sa.select(versions).where(versions.c.scenario_id == sid)
                                .order_by(versions.c.number)).mappings().all()
            numbers = {r["id"]: r["number"] for r in rows}
            return [self._version(r, numbers) for r in rows]

    def version(self, commune_code: str, number: int) -> Version:
        for version in self.versions(commune_code):
            if version.number == number:
                return version
        raise StoreError("no_version", f"Không có phiên bản số {number}", f"There is no version {number}")

    @staticmethod
    def _version(row: Mapping[str, Any], numbers: Mapping[int, int]) -> Version:
        return Version(row["id"], row["number"], numbers.get(row["parent_id"]) if row["parent_id"] else None,
                       row["state"], row["author"], row["created_at"], row["note"], row["checksum"],
                       json.loads(row["plan"]))

    def head(self, commune_code: str) -> Version | None:
        found = self.versions(commune_code)
        return found[-1] if found else None

    def audit_log(self, commune_code: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
        out = []
        for row in rows:
            details = json.loads(row["details"])
            if commune_code is None or details.get("commune_code") == commune_code:
                out.append({**row, "details": details})
        return out

    def comments(self, commune_code: str, number: int) -> list[dict[str, Any]]:
        version = self.version(commune_code, number)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(comments).where(comments.c.version_id == version.id)
                                                  .order_by(comments.c.id)).mappings()]

    def edits(self, commune_code: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            sid = self._scenario_id(conn, commune_code)
            rows = conn.execute(sa.select(edits, versions.c.number).join(versions, edits.c.version_id == versions.c.id)
                                .where(versions.c.scenario_id == sid).order_by(edits.c.id)).mappings().all()
        return [{**r, "payload": json.loads(r["payload"])} for r in rows]

    # --- writing ---------------------------------------------------------------------------
    def _audit(self, conn: Connection, actor: str, action: str, version_id: int | None, **details: Any) -> None:
        conn.execute(audit.insert().values(at=_now(), actor=actor, action=action, version_id=version_id,
                                           details=json.dumps(details, ensure_ascii=False, default=str)))

    def _lock_scenario(self, conn: Connection, sid: int) -> None:
        """Serialise writers of one commune (PostgreSQL row lock; SQLite locks the file on write)."""
        if self.engine.dialect.name == "postgresql":
            conn.execute(sa.select(scenarios.c.id).where(scenarios.c.id == sid).with_for_update())

    def save(self, *, commune_code: str, name: str, path: str, plan: Mapping[str, Any], author: str,
             base: int | None, note: str = "", _after_insert: Any = None) -> Version:
        """Store a new draft version whose parent is ``base`` (the version the author started from).

        ``base`` must be the newest version of the commune (or None for the first); otherwise the
        save is refused with a :class:`Conflict` and the plan is kept as a conflicting edit.
        """
        checksum = plan_checksum(plan)
        body = json.dumps(plan, ensure_ascii=False, default=str)
        conflict: Conflict | None = None
        with self.engine.begin() as conn:
            sid = self._scenario_id(conn, commune_code)
            if sid is None:
                sid = conn.execute(scenarios.insert().values(commune_code=commune_code, name=name, path=path,
                                                             created_at=_now())).inserted_primary_key[0]
            self._lock_scenario(conn, sid)
            head = conn.execute(sa.select(versions.c.id, versions.c.number, versions.c.author)
                                .where(versions.c.scenario_id == sid)
                                .order_by(versions.c.number.desc()).limit(1)).mappings().first()
            head_number = head["number"] if head else None
            if head is not None and base != head_number:
                conn.execute(edits.insert().values(version_id=head["id"], author=author, at=_now(), status="conflict",
                                                   payload=json.dumps({"base": base, "plan": plan, "note": note},
                                                                      ensure_ascii=False, default=str)))
                self._audit(conn, author, "conflict", head["id"], commune_code=commune_code, base=base,
                            newer=head_number)
                conflict = Conflict(head_number, head["author"])
            else:
                parent_id = head["id"] if head is not None else None
                number = (head_number or 0) + 1
                vid = conn.execute(versions.insert().values(
                    scenario_id=sid, number=number, parent_id=parent_id, state="draft", author=author,
                    created_at=_now(), note=note, plan=body, checksum=checksum)).inserted_primary_key[0]
                conn.execute(edits.insert().values(version_id=vid, author=author, at=_now(), status="saved",
                                                   payload=json.dumps({"base": base, "note": note}, ensure_ascii=False)))
                if _after_insert is not None:  # tests crash the process here, mid-transaction
                    _after_insert()
                self._audit(conn, author, "save", vid, commune_code=commune_code, number=number, base=base,
                            checksum=checksum)
        if conflict is not None:
            raise conflict
        return self.version(commune_code, number)

    def transition(self, commune_code: str, number: int, state: str, *, actor: str, comment: str = "") -> Version:
        """Move a version to ``state`` if the workflow allows it; approval records who and why."""
        if state not in STATES:
            raise StoreError("bad_state", f"Trạng thái {state!r} không hợp lệ", f"State {state!r} is not valid")
        with self.engine.begin() as conn:
            sid = self._scenario_id(conn, commune_code)
            if sid is None:
                raise StoreError("no_version", f"Không có phiên bản số {number}", f"There is no version {number}")
            self._lock_scenario(conn, sid)
            row = conn.execute(sa.select(versions).where(versions.c.scenario_id == sid,
                                                         versions.c.number == number)).mappings().first()
            if row is None:
                raise StoreError("no_version", f"Không có phiên bản số {number}", f"There is no version {number}")
            if state not in TRANSITIONS[row["state"]]:
                raise StoreError("bad_transition",
                                 f"Không thể chuyển phiên bản {number} từ {row['state']} sang {state}",
                                 f"Version {number} cannot go from {row['state']} to {state}")
            if state == "approved":
                if not actor.strip():
                    raise StoreError("approver_missing", "Cần tên người phê duyệt", "The approver's name is required")
                conn.execute(approvals.insert().values(version_id=row["id"], author=actor, at=_now(),
                                                       comment=comment))
            conn.execute(versions.update().where(versions.c.id == row["id"]).values(state=state))
            self._audit(conn, actor, state, row["id"], commune_code=commune_code, number=number,
                        from_state=row["state"], comment=comment)
        return self.version(commune_code, number)

    def comment(self, commune_code: str, number: int, *, author: str, text: str) -> None:
        version = self.version(commune_code, number)
        with self.engine.begin() as conn:
            conn.execute(comments.insert().values(version_id=version.id, author=author, at=_now(), text=text))
            self._audit(conn, author, "comment", version.id, commune_code=commune_code, number=number)

    def approval(self, commune_code: str, number: int) -> dict[str, Any] | None:
        version = self.version(commune_code, number)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(approvals).where(approvals.c.version_id == version.id)).mappings().first()
        return dict(row) if row else None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun explicitly (BEGIN IMMEDIATE)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
