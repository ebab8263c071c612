"""lifecycle: the state of one upstream object's copy on one cluster, as a pure state machine.

``transition(state, event) -> (state, effects)`` never performs anything; the effects tell a
controller what to do next, and the controller reports back with events. Effects are intentions
for the state they come with: a controller executes them level-triggered (re-planning against the
current desired state), so a stale ``Apply`` after the copy was given up does nothing.

Phases:

* ``Pending``: not placed on the cluster (yet); no copy.
* ``Syncing``: placed; the copy is being written (or re-written after a change or a loss).
* ``Synced``: the copy was written from the current desired manifest.
* ``Deleting``: the copy is being given up: deleted, or released (our marks removed, the copy left
  running) when the policy says ``Orphan``.
* ``Deleted``: no copy exists. ``Orphaned``: a copy may exist but is no longer ours (released, or
  its cluster was removed and cannot be reached).

The upstream object carries the finalizer ``tmc.kcp.io/sync`` from before the first write until
no cluster is Syncing, Synced or Deleting (:func:`needs_finalizer`), so it never disappears while a
copy we are responsible for may still exist. A cluster that leaves, or stays NotReady longer than
the grace period, gets ``Reschedule`` (move its replicas) and its copy is given up per the policy;
a cluster removed outright cannot be cleaned up, so its copy is Orphaned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from tmc_core.model.base import Value

__all__ = [
    "FINALIZER",
    "Applied",
    "ApplyFailed",
    "ClusterLeaving",
    "ClusterNotReady",
    "ClusterReady",
    "ClusterRemoved",
    "Drifted",
    "Effect",
    "Event",
    "Gone",
    "LifecyclePolicy",
    "Phase",
    "Released",
    "Scheduled",
    "SyncState",
    "Tick",
    "Unscheduled",
    "UpstreamDeleted",
    "holds_copy",
    "needs_finalizer",
    "transition",
    "with_finalizer",
]

FINALIZER = "tmc.kcp.io/sync"


class Phase(StrEnum):
    """Where one (object, cluster) copy stands."""

    PENDING = "Pending"
    SYNCING = "Syncing"
    SYNCED = "Synced"
    DELETING = "Deleting"
    DELETED = "Deleted"
    ORPHANED = "Orphaned"


class Effect(StrEnum):
    """What the controller should do after a transition, in the order given."""

    ADD_FINALIZER = "AddFinalizer"  # ensure tmc.kcp.io/sync on the upstream object, before any write
    APPLY = "Apply"  # write the desired copy (re-plan the cluster)
    DELETE = "Delete"  # delete the copy; report Gone
    RELEASE = "Release"  # remove our marks from the copy, leave it running; report Released
    RESCHEDULE = "Reschedule"  # move this cluster's replicas elsewhere (re-run placement)


class LifecyclePolicy(Value):
    """How long a NotReady cluster keeps its copies, and what giving a copy up means."""

    grace_period: timedelta = timedelta(minutes=5)
    on_removal: Literal["Delete", "Orphan"] = "Delete"


class SyncState(Value):
    """The machine's state: the phase plus what transitions need to remember."""

    phase: Phase = Phase.PENDING
    releasing: bool = False  # Deleting by release (Orphan policy) rather than by delete
    upstream_deleted: bool = False  # once set, nothing is ever written again
    not_ready_since: datetime | None = None
    message: str = ""


class Scheduled(Value):
    """The decision places the object on this cluster."""

    type: Literal["Scheduled"] = "Scheduled"


class Unscheduled(Value):
    """The decision no longer places the object on this cluster (evicted)."""

    type: Literal["Unscheduled"] = "Unscheduled"


class Applied(Value):
    """The copy was written from the current desired manifest (or the plan found it in sync)."""

    type: Literal["Applied"] = "Applied"


class ApplyFailed(Value):
    """Writing the copy failed; retried on the next Tick."""

    type: Literal["ApplyFailed"] = "ApplyFailed"
    message: str = ""


class Drifted(Value):
    """The desired copy changed (upstream edit, new replicas) or the copy no longer matches it."""

    type: Literal["Drifted"] = "Drifted"


class Gone(Value):
    """The copy is observed absent on the cluster."""

    type: Literal["Gone"] = "Gone"


class Released(Value):
    """Our marks were removed from the copy; it is no longer ours."""

    type: Literal["Released"] = "Released"


class UpstreamDeleted(Value):
    """The upstream object has a deletionTimestamp."""

    type: Literal["UpstreamDeleted"] = "UpstreamDeleted"


class ClusterNotReady(Value):
    """The cluster turned (or still is) NotReady at ``at``."""

    type: Literal["ClusterNotReady"] = "ClusterNotReady"
    at: datetime


class ClusterReady(Value):
    """The cluster is Ready again."""

    type: Literal["ClusterReady"] = "ClusterReady"


class Tick(Value):
    """Time passes: check the NotReady grace period and retry pending work."""

    type: Literal["Tick"] = "Tick"
    now: datetime


class ClusterLeaving(Value):
    """The cluster is being deregistered but can still be reached: clean up, then move replicas."""

    type: Literal["ClusterLeaving"] = "ClusterLeaving"


class ClusterRemoved(Value):
    """The cluster is gone for good and cannot be reached: its copy is Orphaned."""

    type: Literal["ClusterRemoved"] = "ClusterRemoved"


Event = Annotated[
    Scheduled
    | Unscheduled
    | Applied
    | ApplyFailed
    | Drifted
    | Gone
    | Released
    | UpstreamDeleted
    | ClusterNotReady
    | ClusterReady
    | Tick
    | ClusterLeaving
    | ClusterRemoved,
    Field(discriminator="type"),
]

_LIVE = frozenset({Phase.SYNCING, Phase.SYNCED})
_HOLDING = frozenset({Phase.SYNCING, Phase.SYNCED, Phase.DELETING})

Result = tuple[SyncState, tuple[Effect, ...]]


def _give_up(state: SyncState, policy: LifecyclePolicy, message: str, *extra: Effect) -> Result:
    """Start Deleting the copy (delete, or release under the Orphan policy)."""
    releasing = policy.on_removal == "Orphan"
    effect = Effect.RELEASE if releasing else Effect.DELETE
    new = state.model_copy(update={"phase": Phase.DELETING, "releasing": releasing, "message": message})
    return new, (*extra, effect)


def _start(state: SyncState) -> Result:
    new = state.model_copy(update={"phase": Phase.SYNCING, "releasing": False, "message": ""})
    return new, (Effect.ADD_FINALIZER, Effect.APPLY)


def transition(state: SyncState, event: Event, *, policy: LifecyclePolicy | None = None) -> Result:
    """The next state and the effects to carry out; a pure function of its arguments.

    ``policy`` defaults to ``LifecyclePolicy()`` (5 minutes' grace, delete copies).
    """
    policy = policy or LifecyclePolicy()
    phase = state.phase
    same: Result = (state, ())

    if isinstance(event, ClusterNotReady):
        since = state.not_ready_since
        return state.model_copy(update={"not_ready_since": min(since, event.at) if since else event.at}), ()
    if isinstance(event, ClusterReady):
        return state.model_copy(update={"not_ready_since": None}), ()
    if isinstance(event, UpstreamDeleted):
        flagged = state.model_copy(update={"upstream_deleted": True})
        if phase is Phase.PENDING:
            return flagged.model_copy(update={"phase": Phase.DELETED}), ()
        if phase in _LIVE:
            return _give_up(flagged, policy, "upstream object deleted")
        return flagged, ()
    if isinstance(event, ClusterRemoved):
        if phase is Phase.PENDING:
            return state.model_copy(update={"phase": Phase.DELETED}), ()
        if phase in _HOLDING:
            orphaned = state.model_copy(update={"phase": Phase.ORPHANED, "message": "cluster removed"})
            return orphaned, ((Effect.RESCHEDULE,) if phase in _LIVE else ())
        return same

    if phase is Phase.PENDING:
        if isinstance(event, Scheduled) and not state.upstream_deleted:
            return _start(state)
        if isinstance(event, (Unscheduled, ClusterLeaving)):
            return state.model_copy(update={"phase": Phase.DELETED}), ()
        return same

    if phase in _LIVE:
        if isinstance(event, Applied):
            return state.model_copy(update={"phase": Phase.SYNCED, "message": ""}), ()
        if isinstance(event, ApplyFailed):
            return state.model_copy(update={"phase": Phase.SYNCING, "message": event.message}), ()
        if isinstance(event, (Drifted, Gone)):
            return state.model_copy(update={"phase": Phase.SYNCING}), (Effect.APPLY,)
        if isinstance(event, Unscheduled):
            return _give_up(state, policy, "evicted from the decision")
        if isinstance(event, ClusterLeaving):
            return _give_up(state, policy, "cluster leaving", Effect.RESCHEDULE)
        if isinstance(event, Tick):
            since = state.not_ready_since
            if since is not None and event.now - since >= policy.grace_period:
                return _give_up(state, policy, f"cluster NotReady for {event.now - since}", Effect.RESCHEDULE)
            return (state, (Effect.APPLY,)) if phase is Phase.SYNCING else same
        return same  # Scheduled, Released

    if phase is Phase.DELETING:
        if isinstance(event, Gone):
            return state.model_copy(update={"phase": Phase.DELETED, "releasing": False, "message": ""}), ()
        if isinstance(event, Released) and state.releasing:
            return state.model_copy(update={"phase": Phase.ORPHANED, "releasing": False, "message": ""}), ()
        if isinstance(event, Scheduled) and not state.upstream_deleted:
            return state.model_copy(update={"phase": Phase.SYNCING, "releasing": False, "message": ""}), (
                Effect.APPLY,
            )
        if isinstance(event, Tick):
            return state, (Effect.RELEASE if state.releasing else Effect.DELETE,)
        return same

    # Deleted, Orphaned: only a new schedule (while the upstream object lives) starts again.
    if isinstance(event, Scheduled) and not state.upstream_deleted:
        return _start(state)
    return same


def holds_copy(state: SyncState) -> bool:
    """Whether a copy we are responsible for may exist (Syncing, Synced, Deleting)."""
    return state.phase in _HOLDING


def needs_finalizer(states: Iterable[SyncState]) -> bool:
    """Whether the upstream object must keep ``tmc.kcp.io/sync`` given its copies' states."""
    return any(holds_copy(s) for s in states)


def with_finalizer(finalizers: Sequence[str], states: Iterable[SyncState]) -> tuple[str, ...]:
    """The upstream ``metadata.finalizers`` to write: ours added or removed, the others kept."""
    others = tuple(f for f in finalizers if f != FINALIZER)
    if needs_finalizer(states):
        return tuple(finalizers) if FINALIZER in finalizers else (*others, FINALIZER)
    return others
