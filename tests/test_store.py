"""The plan store on SQLite and on a real PostgreSQL server: states, refusals, conflicts, crashes."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from planner.store import Conflict, PlanStore, StoreError

PLAN = {"assignment": {"U1": "KV01", "U2": "KV01"}, "areas": [{"area_id": "KV01", "site_id": "S1", "kind": "regular",
                                                              "facility_id": "", "voters": 800}], "report": {}}


def _pg_url() -> str | None:
    return os.environ.get("POLLPLAN_TEST_PG_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / '_plans.sqlite'}"
        return
    base = _pg_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail("POLLPLAN_TEST_PG_URL is not set in CI: .ci/postgres.sh must start PostgreSQL")
        pytest.skip("no PostgreSQL server (make test starts one with .ci/postgres.sh)")
    name = f"pollplan_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _save(store: PlanStore, base, author="an", plan=PLAN):
    return store.save(commune_code="99999", name="Xã Thử", path="/x", plan=plan, author=author, base=base)


def test_state_transitions_and_refusals(url) -> None:
    store = PlanStore(url)
    v1 = _save(store, None)
    assert (v1.number, v1.state, v1.parent) == (1, "draft", None)
    with pytest.raises(StoreError) as refused:
        store.transition("99999", 1, "approved", actor="Chủ tịch")  # draft cannot be approved directly
    assert refused.value.code == "bad_transition"
    assert store.transition("99999", 1, "proposed", actor="an").state == "proposed"
    assert store.transition("99999", 1, "draft", actor="an").state == "draft"  # sent back for changes
    store.transition("99999", 1, "proposed", actor="an")
    with pytest.raises(StoreError) as nameless:
        store.transition("99999", 1, "approved", actor=" ")
    assert nameless.value.code == "approver_missing"
    approved = store.transition("99999", 1, "approved", actor="Chủ tịch Trần", comment="Đồng ý")
    assert approved.state == "approved"
    assert store.approval("99999", 1)["author"] == "Chủ tịch Trần"
    for state in ("draft", "proposed", "approved"):
        with pytest.raises(StoreError):
            store.transition("99999", 1, state, actor="x")
    assert store.transition("99999", 1, "exported", actor="văn thư").state == "exported"
    with pytest.raises(StoreError):
        store.transition("99999", 1, "draft", actor="x")
    with pytest.raises(StoreError):
        store.transition("99999", 7, "proposed", actor="x")
    store.close()


def test_approved_version_is_immutable_and_changes_make_a_new_version(url) -> None:
    store = PlanStore(url)
    _save(store, None)
    store.transition("99999", 1, "proposed", actor="an")
    store.transition("99999", 1, "approved", actor="Chủ tịch")
    with pytest.raises(sa.exc.DBAPIError):  # the database itself refuses
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE versions SET plan = '{}' WHERE number = 1")
    with pytest.raises(sa.exc.DBAPIError):
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM versions WHERE number = 1")
    changed = {**PLAN, "assignment": {"U1": "KV01", "U2": "KV02"}}
    v2 = _save(store, 1, plan=changed)
    assert (v2.number, v2.parent, v2.state) == (2, 1, "draft")
    assert store.version("99999", 1).plan["assignment"] == PLAN["assignment"]
    assert store.version("99999", 1).checksum != v2.checksum
    store.close()


def test_audit_log_is_append_only_and_complete(url) -> None:
    store = PlanStore(url)
    _save(store, None)
    store.comment("99999", 1, author="Hội đồng", text="Xem lại khu vực 3")
    store.transition("99999", 1, "proposed", actor="an")
    actions = [(e["actor"], e["action"]) for e in store.audit_log("99999")]
    assert actions == [("an", "save"), ("Hội đồng", "comment"), ("an", "proposed")]
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(sa.exc.DBAPIError):
            with store.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert len(store.audit_log("99999")) == 3
    assert store.comments("99999", 1)[0]["text"] == "Xem lại khu vực 3"
    store.close()


def _edit_in_process(url: str, author: str, base: int, start, results) -> None:
    try:
        store = PlanStore(url)
    except Exception as exc:
        results.put(("error", author, repr(exc)))
        start.wait()
        return
    start.wait()
    plan = {**PLAN, "assignment": {"U1": "KV01", "U2": f"KV-{author}"}}
    try:
        version = _save(store, base, author=author, plan=plan)
        results.put(("saved", author, version.number))
    except Conflict as conflict:
        results.put(("conflict", author, conflict.newer))
    except Exception as exc:  # reported, so a failure says what happened
        results.put(("error", author, repr(exc)))
    store.close()


def test_two_people_editing_the_same_version_at_once(url) -> None:
    store = PlanStore(url)
    _save(store, None)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_edit_in_process, args=(url, who, 1, start, results)) for who in ("an", "binh")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    outcomes = sorted(results.get(timeout=10) for _ in workers)
    assert [o[0] for o in outcomes] == ["conflict", "saved"]
    saved, refused = outcomes[1], outcomes[0]
    assert refused[2] == saved[2] == 2  # the refusal names the newer version
    versions = store.versions("99999")
    assert [v.number for v in versions] == [1, 2]
    kept = [e for e in store.edits("99999") if e["status"] == "conflict"]
    assert len(kept) == 1 and kept[0]["author"] == refused[1]  # nothing of the refused work is lost
    assert kept[0]["payload"]["plan"]["assignment"]["U2"] == f"KV-{refused[1]}"
    store.close()


def _crash_mid_save(url: str) -> None:
    store = PlanStore(url)
    _save(store, 1, author="crash", plan={**PLAN, "assignment": {"U1": "KV09", "U2": "KV09"}})
    store.close()


def _save_then_die(url: str) -> None:
    store = PlanStore(url)
    store.save(commune_code="99999", name="Xã Thử", path="/x", plan=PLAN, author="crash", base=1,
               _after_insert=lambda: os._exit(9))


def test_crash_in_the_middle_of_a_save_leaves_the_store_as_it_was(url) -> None:
    store = PlanStore(url)
    _save(store, None)
    before = ([(v.number, v.checksum) for v in store.versions("99999")], len(store.audit_log("99999")),
              len(store.edits("99999")))
    process = multiprocessing.get_context("spawn").Process(target=_save_then_die, args=(url,))
    process.start()
    process.join(60)
    assert process.exitcode == 9
    again = PlanStore(url)
    after = ([(v.number, v.checksum) for v in again.versions("99999")], len(again.audit_log("99999")),
             len(again.edits("99999")))
    assert after == before
    assert _save(again, 1).number == 2  # and the store still works
    again.close()
    store.close()
