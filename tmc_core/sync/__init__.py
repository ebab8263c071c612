"""Sync: pure functions that turn a placed workload into downstream objects and back.

* :func:`render` -- upstream object + decision + cluster (+ overrides) -> downstream manifests;
* :func:`plan` -- desired vs observed manifests per cluster -> ordered create/update/delete actions;
* :func:`aggregate` -- per-cluster statuses -> one upstream status and a health verdict;
* :func:`transition` -- the per (object, cluster) lifecycle state machine, with finalizer rules.

No I/O, no clock (time arrives in events), no global state; manifests are plain dicts in and out,
and inputs are never modified. See docs/sync.md for a worked example and the naming rules.
"""

from tmc_core.sync.aggregate import AggregatedStatus, Health, MemberStatus, Verdict, aggregate
from tmc_core.sync.compare import fingerprint, in_sync
from tmc_core.sync.lifecycle import (
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
from tmc_core.sync.manifests import Manifest, ObjectKey
from tmc_core.sync.namespaces import downstream_namespace, upstream_namespace
from tmc_core.sync.overrides import (
    ArgsOverride,
    EnvOverride,
    JsonPatchOp,
    Override,
    OverrideTarget,
    parse_overrides,
)
from tmc_core.sync.ownership import is_owned, owner_value
from tmc_core.sync.plan import Action, Plan, Skip, plan
from tmc_core.sync.render import render, render_namespace

__all__ = [
    "FINALIZER",
    "Action",
    "AggregatedStatus",
    "Applied",
    "ApplyFailed",
    "ArgsOverride",
    "ClusterLeaving",
    "ClusterNotReady",
    "ClusterReady",
    "ClusterRemoved",
    "Drifted",
    "Effect",
    "EnvOverride",
    "Event",
    "Gone",
    "Health",
    "JsonPatchOp",
    "LifecyclePolicy",
    "Manifest",
    "MemberStatus",
    "ObjectKey",
    "Override",
    "OverrideTarget",
    "Phase",
    "Plan",
    "Released",
    "Scheduled",
    "Skip",
    "SyncState",
    "Tick",
    "Unscheduled",
    "UpstreamDeleted",
    "Verdict",
    "aggregate",
    "downstream_namespace",
    "fingerprint",
    "in_sync",
    "is_owned",
    "needs_finalizer",
    "owner_value",
    "parse_overrides",
    "plan",
    "render",
    "render_namespace",
    "transition",
    "upstream_namespace",
    "with_finalizer",
]
