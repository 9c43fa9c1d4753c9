"""Unit tests of planning: batches by count and, in Bulk mode, by payload size."""

from __future__ import annotations

import json

import pytest

from scim_tui.engine.plan import (
    BULK_ENVELOPE_OVERHEAD,
    DEFAULT_PER_USER_BATCH,
    bulk_operation_size,
    build_plan,
    default_batch_size,
)
from scim_tui.input.records import ValidUser
from tests.unit.test_engine_support import encode_user, make_users, user_names


def plan_of(count: int, **options):
    options.setdefault("mode", "per-user")
    options.setdefault("batch_size", 50)
    options.setdefault("max_payload_size", None)
    return build_plan(make_users(user_names(count)), encode=encode_user, **options)


def test_batches_cut_by_size():
    plan = plan_of(7, batch_size=3)

    assert [len(batch.users) for batch in plan.batches] == [3, 3, 1]
    assert [batch.number for batch in plan.batches] == [1, 2, 3]
    assert plan.total_users == 7
    assert plan.mode == "per-user"
    assert plan.batch_size == 3


def test_users_keep_input_order_and_rows():
    users = make_users(user_names(5), first_row=10)
    plan = build_plan(users, mode="per-user", batch_size=2, max_payload_size=None, encode=encode_user)

    assert [user.row for user in plan.users()] == [10, 11, 12, 13, 14]
    assert [user.user_name for user in plan.users()] == [user.user_name for user in users]
    assert [user.payload for user in plan.users()] == [encode_user(user) for user in users]


def test_first_and_last_user():
    plan = plan_of(5, batch_size=2)

    assert [(batch.first_user, batch.last_user) for batch in plan.batches] == [
        ("user001@example.test", "user002@example.test"),
        ("user003@example.test", "user004@example.test"),
        ("user005@example.test", "user005@example.test"),
    ]


def test_each_user_encoded_once():
    calls: list[str] = []

    def counting_encoder(user):
        calls.append(user.user_name)
        return encode_user(user)

    users = make_users(user_names(6))
    build_plan(users, mode="bulk", batch_size=2, max_payload_size=400, encode=counting_encoder)

    assert calls == [user.user_name for user in users]


def test_input_read_once_as_stream():
    consumed: list[int] = []

    def stream():
        for user in make_users(user_names(4)):
            consumed.append(user.row)
            yield user

    plan = build_plan(stream(), mode="per-user", batch_size=3, max_payload_size=None, encode=encode_user)

    assert consumed == [2, 3, 4, 5]
    assert plan.total_users == 4


def test_empty_input_has_no_batches():
    plan = plan_of(0)
    assert plan.batches == []
    assert plan.total_users == 0
    assert list(plan.users()) == []


def test_per_user_ignores_payload_limit():
    plan = plan_of(10, batch_size=4, max_payload_size=10)

    assert [len(batch.users) for batch in plan.batches] == [4, 4, 2]
    assert plan.max_payload_size is None
    assert [batch.payload_bytes for batch in plan.batches] == [
        sum(len(user.payload) for user in batch.users) for batch in plan.batches
    ]


def test_bulk_batches_fit_payload_limit():
    limit = 700
    plan = plan_of(20, mode="bulk", batch_size=100, max_payload_size=limit)

    assert len(plan.batches) > 1
    assert plan.max_payload_size == limit
    assert sum(len(batch.users) for batch in plan.batches) == 20
    for batch in plan.batches:
        assert batch.payload_bytes == sum(bulk_operation_size(user.payload, user.user_name) for user in batch.users)
        assert batch.payload_bytes + BULK_ENVELOPE_OVERHEAD <= limit


def test_bulk_batches_are_full_before_cutting():
    limit = 700
    plan = plan_of(20, mode="bulk", batch_size=100, max_payload_size=limit)

    assert len(plan.batches) > 1
    for batch, following in zip(plan.batches, plan.batches[1:]):
        # A batch was cut only because the next user would not have fitted.
        assert batch.payload_bytes + bulk_operation_size(following.users[0].payload, following.users[0].user_name) + BULK_ENVELOPE_OVERHEAD > limit


def test_bulk_batch_size_applies_too():
    plan = plan_of(9, mode="bulk", batch_size=4, max_payload_size=1_000_000)
    assert [len(batch.users) for batch in plan.batches] == [4, 4, 1]


def test_oversized_user_gets_own_batch():
    users = make_users(user_names(3))
    users[1].display_name = "x" * 2000
    plan = build_plan(users, mode="bulk", batch_size=10, max_payload_size=600, encode=encode_user)

    assert [[user.row for user in batch.users] for batch in plan.batches] == [[2], [3], [4]]


def test_bulk_without_limit_uses_count_only():
    plan = plan_of(5, mode="bulk", batch_size=2, max_payload_size=None)
    assert [len(batch.users) for batch in plan.batches] == [2, 2, 1]


@pytest.mark.parametrize("batch_size", [0, -1])
def test_invalid_batch_size_rejected(batch_size):
    with pytest.raises(ValueError, match="batch size"):
        plan_of(3, batch_size=batch_size)


def test_invalid_mode_rejected():
    with pytest.raises(ValueError, match="mode"):
        plan_of(3, mode="parallel")


def test_default_batch_size():
    assert default_batch_size("bulk", 1000) == 1000
    assert default_batch_size("bulk", None) == DEFAULT_PER_USER_BATCH
    assert default_batch_size("per-user", 1000) == DEFAULT_PER_USER_BATCH
    assert DEFAULT_PER_USER_BATCH == 50


def test_large_plan_packs_payloads():
    from scim_tui.engine.plan import COMPRESS_AFTER_USERS, unpack_payload

    count = COMPRESS_AFTER_USERS + 50
    users = [ValidUser(row=index + 2, user_name=f"user{index}@example.com", display_name=f"User {index}") for index in range(count)]
    plan = build_plan(users, mode="per-user", batch_size=50, max_payload_size=None)
    planned = list(plan.users())

    assert planned[0].data[:1] == b"{"
    assert planned[-1].data[:1] != b"{"
    assert len(planned[-1].data) < len(planned[-1].payload)
    assert json.loads(planned[-1].payload)["userName"] == f"user{count - 1}@example.com"
    assert unpack_payload(planned[0].data) == planned[0].data
