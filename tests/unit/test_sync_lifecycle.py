"""lifecycle: the per (object, cluster) state machine, its effects, and the upstream finalizer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from tmc_core.sync import (
    FINALIZER,
    Applied,
    ApplyFailed,
    ClusterLeaving,
    ClusterNotReady,
    ClusterReady,
    ClusterRemoved,
    Drifted,
    Effect,
    Event,
    Gone,
    LifecyclePolicy,
    Phase,
    Released,
    Scheduled,
    SyncState,
    Tick,
    Unscheduled,
    UpstreamDeleted,
    needs_finalizer,
    transition,
    with_finalizer,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ORPHAN = LifecyclePolicy(on_removal="Orphan")


def run(
    events: Sequence[Event], state: SyncState | None = None, policy: LifecyclePolicy | None = None
) -> tuple[SyncState, list[tuple[Phase, tuple[Effect, ...]]]]:
    state = state or SyncState()
    trace = []
    for event in events:
        state, effects = transition(state, event, policy=policy)
        trace.append((state.phase, effects))
    return state, trace


def synced() -> SyncState:
    state, _ = run([Scheduled(), Applied()])
    assert state.phase is Phase.SYNCED
    return state


def test_a_copy_is_created_then_deleted_with_the_upstream_object() -> None:
    _, trace = run([Scheduled(), Applied(), UpstreamDeleted(), Gone()])
    assert trace == [
        (Phase.SYNCING, (Effect.ADD_FINALIZER, Effect.APPLY)),
        (Phase.SYNCED, ()),
        (Phase.DELETING, (Effect.DELETE,)),
        (Phase.DELETED, ()),
    ]


def test_orphan_policy_releases_instead_of_deleting() -> None:
    state, trace = run([UpstreamDeleted(), Released()], synced(), ORPHAN)
    assert trace == [(Phase.DELETING, (Effect.RELEASE,)), (Phase.ORPHANED, ())]
    assert not needs_finalizer([state])


def test_released_means_nothing_while_deleting_by_delete() -> None:
    state, _ = run([Unscheduled(), Released()], synced())
    assert state.phase is Phase.DELETING


def test_changes_and_losses_are_reapplied() -> None:
    _, trace = run(
        [Drifted(), ApplyFailed(message="409 conflict"), Tick(now=T0), Applied(), Gone()], synced()
    )
    assert trace == [
        (Phase.SYNCING, (Effect.APPLY,)),
        (Phase.SYNCING, ()),
        (Phase.SYNCING, (Effect.APPLY,)),  # retried on the tick
        (Phase.SYNCED, ()),
        (Phase.SYNCING, (Effect.APPLY,)),  # someone deleted the copy: recreate it
    ]
    state, _ = run([Drifted(), ApplyFailed(message="409 conflict")], synced())
    assert state.message == "409 conflict"


def test_eviction_from_the_decision_deletes_and_a_new_schedule_restores() -> None:
    _, trace = run([Unscheduled(), Scheduled(), Applied()], synced())
    assert trace == [
        (Phase.DELETING, (Effect.DELETE,)),
        (Phase.SYNCING, (Effect.APPLY,)),
        (Phase.SYNCED, ()),
    ]
    _, trace = run([Unscheduled(), Gone(), Scheduled()], synced())
    assert trace[-1] == (Phase.SYNCING, (Effect.ADD_FINALIZER, Effect.APPLY))


def test_not_ready_past_the_grace_period_moves_replicas_and_cleans_up() -> None:
    policy = LifecyclePolicy(grace_period=timedelta(minutes=5))
    state, trace = run(
        [
            ClusterNotReady(at=T0),
            ClusterNotReady(at=T0 + timedelta(minutes=2)),  # still the first moment counts
            Tick(now=T0 + timedelta(minutes=4, seconds=59)),
            Tick(now=T0 + timedelta(minutes=5)),
        ],
        synced(),
        policy,
    )
    assert state.not_ready_since == T0
    assert trace[2] == (Phase.SYNCED, ())
    assert trace[3] == (Phase.DELETING, (Effect.RESCHEDULE, Effect.DELETE))
    assert "NotReady" in state.message
    # the cluster answers later: the delete goes through and the finalizer may go
    state, trace = run([ClusterReady(), Tick(now=T0 + timedelta(minutes=9)), Gone()], state, policy)
    assert trace[1] == (Phase.DELETING, (Effect.DELETE,))
    assert state.phase is Phase.DELETED


def test_a_cluster_that_recovers_within_the_grace_period_keeps_its_copy() -> None:
    state, trace = run([ClusterNotReady(at=T0), ClusterReady(), Tick(now=T0 + timedelta(hours=1))], synced())
    assert state.phase is Phase.SYNCED and state.not_ready_since is None
    assert trace[-1] == (Phase.SYNCED, ())


def test_not_ready_with_orphan_policy_releases() -> None:
    _, trace = run([ClusterNotReady(at=T0), Tick(now=T0 + timedelta(minutes=5))], synced(), ORPHAN)
    assert trace[-1] == (Phase.DELETING, (Effect.RESCHEDULE, Effect.RELEASE))


def test_a_leaving_cluster_is_cleaned_up_and_its_replicas_moved() -> None:
    _, trace = run([ClusterLeaving(), Gone()], synced())
    assert trace == [(Phase.DELETING, (Effect.RESCHEDULE, Effect.DELETE)), (Phase.DELETED, ())]


def test_a_removed_cluster_orphans_its_copy() -> None:
    state, effects = transition(synced(), ClusterRemoved())
    assert (state.phase, effects) == (Phase.ORPHANED, (Effect.RESCHEDULE,))
    deleting, _ = transition(synced(), UpstreamDeleted())
    state, effects = transition(deleting, ClusterRemoved())
    assert (state.phase, effects) == (Phase.ORPHANED, ())
    assert not needs_finalizer([state])


def test_pending_copies_need_no_cleanup() -> None:
    for event in (UpstreamDeleted(), Unscheduled(), ClusterLeaving(), ClusterRemoved()):
        state, effects = transition(SyncState(), event)
        assert (state.phase, effects) == (Phase.DELETED, ()), event


def test_nothing_is_written_after_the_upstream_object_is_deleted() -> None:
    state, trace = run([UpstreamDeleted(), Scheduled(), Drifted(), Gone(), Scheduled()], synced())
    assert [effects for _, effects in trace] == [(Effect.DELETE,), (), (), (), ()]
    assert state.phase is Phase.DELETED


def test_stale_events_are_ignored() -> None:
    state, effects = transition(SyncState(phase=Phase.DELETED), Applied())
    assert (state.phase, effects) == (Phase.DELETED, ())
    state, effects = transition(SyncState(phase=Phase.PENDING), Gone())
    assert (state.phase, effects) == (Phase.PENDING, ())


def test_transition_is_pure() -> None:
    before = synced()
    copy_ = before.model_copy()
    assert transition(before, UpstreamDeleted()) == transition(before, UpstreamDeleted())
    assert before == copy_


def test_finalizer_is_kept_while_any_copy_is_held() -> None:
    deleting, _ = transition(synced(), UpstreamDeleted())
    deleted = SyncState(phase=Phase.DELETED)
    orphaned = SyncState(phase=Phase.ORPHANED)
    assert needs_finalizer([deleted, deleting])
    assert not needs_finalizer([deleted, orphaned, SyncState()])
    assert with_finalizer(["other"], [synced()]) == ("other", FINALIZER)
    assert with_finalizer([FINALIZER, "other"], [synced()]) == (FINALIZER, "other")
    assert with_finalizer([FINALIZER, "other"], [deleted, orphaned]) == ("other",)
    assert with_finalizer([], []) == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "Tick", "now": "2025-03-01T12:00:00Z"}, Tick(now=T0)),
        ({"type": "Gone"}, Gone()),
        ({"type": "ApplyFailed", "message": "x"}, ApplyFailed(message="x")),
    ],
)
def test_events_parse_from_json(data: dict[str, str], expected: Event) -> None:
    assert TypeAdapter(Event).validate_python(data) == expected
