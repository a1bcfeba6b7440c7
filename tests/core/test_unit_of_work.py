"""Transaction boundaries: a job step commits or rolls back as one, and side effects wait for the real commit."""

import pytest

from core.db import after_commit, after_rollback
from core.unit_of_work import commit_intent, run_in_batches, unit_of_work
from shop.models import Sku


def test_unit_of_work_commits_a_step_and_rolls_back_a_failed_one(db, shop):
    sku_id = shop["peach_5"].id
    with unit_of_work():
        db.session.get(Sku, sku_id).stock = 77
    assert not db.session().in_transaction()
    with pytest.raises(RuntimeError), unit_of_work():
        db.session.get(Sku, sku_id).stock = 1
        raise RuntimeError("a step fails")
    assert not db.session().in_transaction()
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 77


def test_commit_intent_leaves_no_transaction_open(db, shop):
    db.session.get(Sku, shop["peach_5"].id).stock = 55
    commit_intent()
    assert not db.session().in_transaction()
    assert db.session.get(Sku, shop["peach_5"].id).stock == 55


def test_after_commit_callbacks_wait_for_the_outer_commit_not_a_savepoint(db, shop):
    ran = []
    db.session.get(Sku, shop["peach_5"].id).stock = 12
    after_commit(lambda: ran.append("sent"))
    with db.session.begin_nested():  # e.g. the ledger creating an account
        db.session.get(Sku, shop["peach_5"].id).stock = 13
    assert ran == []  # releasing a SAVEPOINT is not the commit: nothing may go out yet
    db.session.commit()
    assert ran == ["sent"]


def test_a_rolled_back_savepoint_drops_its_after_commit_callbacks_and_runs_its_after_rollback_ones(db, shop):
    ran = []
    after_commit(lambda: ran.append("outer committed"))
    with pytest.raises(RuntimeError), db.session.begin_nested():
        after_commit(lambda: ran.append("inner committed"))
        after_rollback(lambda: ran.append("inner undone"))
        raise RuntimeError("the savepoint's work fails")
    assert ran == ["inner undone"]
    db.session.commit()
    assert ran == ["inner undone", "outer committed"]


def test_a_released_savepoint_hands_its_callbacks_to_the_transaction_around_it(db, shop):
    ran = []
    with db.session.begin_nested():
        after_commit(lambda: ran.append("committed"))
        after_rollback(lambda: ran.append("undone"))
    db.session.rollback()
    assert ran == ["undone"]  # the outer rollback undid the savepoint's work too
    db.session.commit()
    assert ran == ["undone"]  # nothing left over for the next transaction


def test_a_callback_registered_once_runs_once_per_transaction(db, shop):
    ran = []

    def bump():
        ran.append("bumped")

    for _ in range(3):
        after_commit(bump, once=True)
    db.session.commit()
    after_commit(bump, once=True)
    db.session.commit()
    assert ran == ["bumped", "bumped"]


def test_run_in_batches_commits_each_batch_so_a_failing_one_keeps_those_before(db, shop):
    sku_id = shop["peach_5"].id
    calls = []

    def lower_stock(batch_size: int) -> int:
        calls.append(batch_size)
        if len(calls) == 3:
            db.session.get(Sku, sku_id).stock = 0
            raise RuntimeError("the third batch fails")
        db.session.get(Sku, sku_id).stock = 100 - len(calls)
        return batch_size

    with pytest.raises(RuntimeError):
        run_in_batches(lower_stock, 2)
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 98  # the two committed batches stay; the failed one is undone
    assert calls == [2, 2, 2]


def test_run_in_batches_stops_at_the_first_short_batch(db, shop):
    sizes = iter([5, 5, 3, 5])
    assert run_in_batches(lambda batch_size: next(sizes), 5) == 13
    assert not db.session().in_transaction()
