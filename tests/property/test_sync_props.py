"""Properties of the sync core: plan idempotence, deterministic render, injective namespace mapping,
aggregate of one cluster, and a lifecycle that ends cleanly without dropping the finalizer early."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tmc_core.model import Cluster, Decision
from tmc_core.sync import (
    ClusterLeaving,
    ClusterNotReady,
    ClusterReady,
    ClusterRemoved,
    Drifted,
    Effect,
    Event,
    Gone,
    LifecyclePolicy,
    MemberStatus,
    Phase,
    Plan,
    Scheduled,
    SyncState,
    Tick,
    Unscheduled,
    UpstreamDeleted,
    aggregate,
    downstream_namespace,
    in_sync,
    is_owned,
    needs_finalizer,
    parse_overrides,
    plan,
    render,
    render_namespace,
    transition,
    upstream_namespace,
)
from tmc_core.sync.lifecycle import Applied, ApplyFailed, Released
from tmc_core.sync.manifests import key_of
from tmc_core.sync.namespaces import is_dns1123_label

CLUSTERS = ("aws-use1-a", "gcp-euw1-b", "azure-weu-c")
WS = "root:org:team"

# ---- strategies -------------------------------------------------------------------------------

label_keys = st.sampled_from(["app", "tier", "team", "example.com/owner", "version"])
label_values = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?", fullmatch=True)
names = st.sampled_from(["web", "api", "db", "cache"])
namespaces = st.sampled_from(["shop", "payments", "default"])


@st.composite
def upstream_objects(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["Deployment", "ConfigMap", "Service", "Secret", "ServiceAccount", "Widget", "ClusterRole"]
        )
    )
    name = draw(names)
    meta: dict[str, Any] = {
        "name": name,
        "labels": draw(st.dictionaries(label_keys, label_values, max_size=3)),
    }
    if kind != "ClusterRole":
        meta["namespace"] = draw(namespaces)
    if draw(st.booleans()):
        meta.update(uid=f"uid-{name}", resourceVersion="17", generation=draw(st.integers(1, 9)))
    if kind == "Deployment":
        containers = [
            {
                "name": f"c{i}",
                "image": draw(st.sampled_from(["nginx:1.27", "ghcr.io/acme/app:2", "redis"])),
                "env": [{"name": "A", "value": draw(label_values)}],
            }
            for i in range(draw(st.integers(1, 2)))
        ]
        return {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": meta,
            "spec": {
                "replicas": draw(st.integers(0, 9)),
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
            },
            "status": {"replicas": 3},
        }
    if kind == "ConfigMap":
        data = draw(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=5), max_size=3))
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": data}
    if kind == "Secret":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "stringData": {"k": draw(label_values)}}
    if kind == "Service":
        port = draw(st.integers(1, 65535))
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "spec": {"ports": [{"port": port}], "clusterIP": "10.0.0.1"},
        }
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "Widget":
        return {
            "apiVersion": "example.com/v1",
            "kind": kind,
            "metadata": meta,
            "spec": {"size": draw(st.integers(0, 3))},
        }
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": []}


@st.composite
def apps(draw: st.DrawFn) -> tuple[list[dict[str, Any]], Decision]:
    """Upstream objects with unique identities, and a decision over some clusters."""
    objs = draw(st.lists(upstream_objects(), max_size=6))
    unique = list({key_of(o): o for o in objs}.values())
    chosen = draw(st.lists(st.sampled_from(CLUSTERS), min_size=1, unique=True))
    workload = next((o for o in unique if o["kind"] == "Deployment"), None)
    ref = (
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "namespace": workload["metadata"]["namespace"],
            "name": workload["metadata"]["name"],
        }
        if workload
        else {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "none"}
    )
    dec = Decision.from_record(
        {
            "workload": ref,
            "placement": draw(st.sampled_from(["", "shop/web", "shop/other"])),
            "clusters": [{"name": c, "replicas": draw(st.integers(0, 5))} for c in chosen],
        }
    )
    return unique, dec


overrides_data = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "target": st.fixed_dictionaries(
                {}, optional={"clusterNames": st.lists(st.sampled_from(CLUSTERS), max_size=2)}
            ),
            "labels": st.dictionaries(label_keys, st.one_of(st.none(), label_values), max_size=2),
            "annotations": st.dictionaries(label_keys, st.one_of(st.none(), st.text(max_size=5)), max_size=2),
            "imageRegistry": st.sampled_from(["mirror.example", "registry.local:5000/acme"]),
            "env": st.lists(
                st.fixed_dictionaries({"name": st.sampled_from(["A", "B"]), "value": label_values}),
                max_size=2,
            ),
            "jsonPatches": st.just(
                [{"op": "add", "path": "/metadata/annotations", "value": {"patched": "yes"}}]
            ),
        },
    ),
    max_size=3,
)


def desired_for(
    objs: list[dict[str, Any]], dec: Decision, overrides: Any = ()
) -> dict[str, list[dict[str, Any]]]:
    return {
        t.name: [m for o in objs for m in render(o, dec, t.name, overrides, workspace=WS)]
        for t in dec.clusters
    }


# ---- a simulated member API server ----------------------------------------------------------------


@dataclass
class Fleet:
    """Member clusters as API servers that default, annotate and report status on what they store."""

    objects: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    counter: int = 0

    def store(self, cluster: str, manifest: dict[str, Any]) -> None:
        self.counter += 1
        key = key_of(manifest)
        old = self.objects.setdefault(cluster, {}).get(key)
        stored = copy.deepcopy(manifest)
        meta = stored["metadata"]
        meta["uid"] = old["metadata"]["uid"] if old else f"uid-{self.counter}"
        meta["resourceVersion"] = str(self.counter)
        meta.setdefault("labels", {})["member.example/zone"] = "z1"
        meta.setdefault("annotations", {})["member.example/seen"] = "yes"
        if stored["kind"] == "Deployment":
            meta["generation"] = old["metadata"]["generation"] + 1 if old else 1
            stored["spec"].setdefault("strategy", {"type": "RollingUpdate"})
            for c in stored["spec"]["template"]["spec"]["containers"]:
                c.setdefault("imagePullPolicy", "IfNotPresent")
            stored["status"] = {
                "replicas": stored["spec"].get("replicas", 1),
                "observedGeneration": meta["generation"],
            }
        elif stored["kind"] == "Service":
            stored["spec"]["clusterIP"] = "10.96.0.9"
            for p in stored["spec"]["ports"]:
                p.setdefault("protocol", "TCP")
        elif stored["kind"] == "Namespace":
            meta["labels"]["kubernetes.io/metadata.name"] = meta["name"]
            stored["status"] = {"phase": "Active"}
        self.objects[cluster][key] = stored

    def carry_out(self, p: Plan) -> None:
        for action in p.actions:
            if action.verb == "delete":
                del self.objects[action.cluster][action.key]
            else:
                self.store(action.cluster, action.manifest)

    def observed(self) -> dict[str, list[dict[str, Any]]]:
        return {c: [copy.deepcopy(m) for m in objs.values()] for c, objs in self.objects.items()}


@st.composite
def foreign_objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Objects someone else created on a member, sometimes with the very name we want."""
    cluster = draw(st.sampled_from(CLUSTERS))
    ns = draw(
        st.sampled_from(
            [downstream_namespace(WS, "shop"), downstream_namespace(WS, "payments"), "kube-system"]
        )
    )
    kind, api = draw(
        st.sampled_from([("ConfigMap", "v1"), ("Deployment", "apps/v1"), ("Widget", "example.com/v1")])
    )
    obj: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": draw(names), "namespace": ns, "uid": "theirs"},
    }
    if draw(st.booleans()):  # looks a bit like ours, but is not
        obj["metadata"]["labels"] = {"tmc.kcp.io/managed-by": "someone-else"}
    return cluster, obj


@settings(max_examples=60, deadline=None)
@given(
    before=apps(),
    after=apps(),
    overrides=overrides_data,
    foreign=st.lists(foreign_objects(), max_size=4),
    unstamp=st.lists(st.integers(0, 50), max_size=3),
)
def test_plan_is_idempotent_and_never_touches_foreign_objects(
    before: Any, after: Any, overrides: Any, foreign: list[tuple[str, dict[str, Any]]], unstamp: list[int]
) -> None:
    fleet = Fleet()
    fleet.carry_out(plan(desired_for(*before), {}))
    for cluster, obj in foreign:
        fleet.objects.setdefault(cluster, {})[key_of(obj)] = obj
    ours = [(c, k) for c, objs in sorted(fleet.objects.items()) for k, m in objs.items() if is_owned(m)]
    for i in unstamp:  # someone stripped our fingerprint from a copy
        if ours:
            c, k = ours[i % len(ours)]
            fleet.objects[c][k]["metadata"]["annotations"].pop("tmc.kcp.io/applied", None)
    foreign_before = {(c, key_of(o)): copy.deepcopy(fleet.objects[c][key_of(o)]) for c, o in foreign}

    want = desired_for(after[0], after[1], parse_overrides(overrides))
    first = plan(want, fleet.observed())
    assert not {(a.cluster, a.key) for a in first.actions} & set(foreign_before)
    fleet.carry_out(first)

    assert plan(want, fleet.observed()).empty
    for (c, k), obj in foreign_before.items():
        assert fleet.objects[c][k] == obj
    skipped = {(s.cluster, s.key) for s in first.skipped}
    for cluster, manifests in want.items():
        for m in manifests:
            k = key_of(m)
            if (cluster, k) not in skipped:
                assert in_sync(m, fleet.objects[cluster][k])
    wanted = {(c, key_of(m)) for c, ms in want.items() for m in ms}
    for c, objs in fleet.objects.items():
        for k, m in objs.items():
            assert not is_owned(m) or (c, k) in wanted


# ---- render -----------------------------------------------------------------------------------


def reversed_keys(value: Any) -> Any:
    """The same JSON value with every map's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


@settings(max_examples=80, deadline=None)
@given(
    app=apps(),
    overrides=overrides_data,
    labels=st.dictionaries(st.sampled_from(["env", "provider"]), label_values),
)
def test_render_is_deterministic_and_leaves_inputs_alone(
    app: Any, overrides: Any, labels: dict[str, str]
) -> None:
    objs, dec = app
    parsed = parse_overrides(overrides)
    for target in dec.clusters:
        cluster = Cluster(name=target.name, labels=labels)
        for obj in objs:
            before = copy.deepcopy(obj)
            first = render(obj, dec, cluster, parsed, workspace=WS)
            assert obj == before
            second = render(reversed_keys(obj), dec, cluster, parsed, workspace=WS)
            assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
            assert all(is_owned(m) for m in first)
            assert all("status" not in m and "uid" not in m["metadata"] for m in first)


# ---- namespace mapping ------------------------------------------------------------------------

workspaces = st.one_of(st.text(max_size=30), st.from_regex(r"root(:[a-z0-9-]{1,12}){0,3}", fullmatch=True))
upstream_namespaces = st.one_of(
    st.text(min_size=1, max_size=80), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(workspaces, upstream_namespaces), unique=True, min_size=1, max_size=40))
def test_namespace_mapping_is_injective_and_dns1123(pairs: list[tuple[str, str]]) -> None:
    names = [downstream_namespace(ws, ns) for ws, ns in pairs]
    assert len(set(names)) == len(pairs)
    for (ws, ns), name in zip(pairs, names, strict=True):
        assert is_dns1123_label(name), name
        assert name.startswith("tmc-")
        assert upstream_namespace(render_namespace(ns, workspace=ws)) == (ws, ns)


# ---- aggregate --------------------------------------------------------------------------------

condition = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Available", "Progressing", "ReplicaFailure"]),
        "status": st.sampled_from(["True", "False", "Unknown"]),
        "reason": st.sampled_from(["", "MinimumReplicasAvailable", "NewReplicaSetAvailable", "FailedCreate"]),
    },
    optional={"message": st.text(max_size=10), "lastTransitionTime": st.just("2025-01-01T00:00:00Z")},
)
counter = st.integers(0, 50)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["Deployment", "StatefulSet", "Widget"]),
    counters=st.fixed_dictionaries(
        {},
        optional={
            f: counter
            for f in (
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
                "currentReplicas",
            )
        },
    ),
    conditions=st.lists(condition, max_size=3, unique_by=lambda c: c["type"]),
    upstream_generation=st.integers(1, 20),
    pushed=st.integers(1, 20),
    generation=st.integers(1, 20),
    observed=st.integers(0, 20),
)
def test_aggregate_of_one_cluster_is_that_clusters_status(
    kind: str,
    counters: dict[str, int],
    conditions: list[dict[str, str]],
    upstream_generation: int,
    pushed: int,
    generation: int,
    observed: int,
) -> None:
    api = "example.com/v1" if kind == "Widget" else "apps/v1"
    up = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "n", "generation": upstream_generation},
    }
    status = {**counters, "observedGeneration": observed, "conditions": conditions}
    copy_ = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {
            "name": "x",
            "namespace": "n",
            "generation": generation,
            "annotations": {"tmc.kcp.io/generation": str(pushed)},
        },
        "status": status,
    }
    out = aggregate(up, [MemberStatus(cluster="solo", manifest=copy_)])
    if kind == "Widget":
        assert out.status == {
            "clusters": [{"cluster": "solo", "health": out.per_cluster["solo"], "status": status}]
        }
        return
    fields = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")
    if kind == "StatefulSet":
        fields = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")
    for f in fields:
        assert out.status.get(f, 0 if f == "replicas" else None) == counters.get(
            f, 0 if f == "replicas" else None
        )
    seen = pushed == upstream_generation and observed >= generation
    assert out.status.get("observedGeneration") == (upstream_generation if seen else None)
    merged = out.status.get("conditions", [])
    assert [(c["type"], c["status"]) for c in merged] == [(c["type"], c["status"]) for c in conditions]
    for got, had in zip(merged, conditions, strict=True):
        assert got["reason"] == f"{had['reason'] or 'Unspecified'}:solo"
        assert got.get("message") == (f"solo: {had['message']}" if had.get("message") else None)
    assert out.verdict.clusters == ("solo",)
    assert out.verdict.health == out.per_cluster["solo"]


# ---- lifecycle --------------------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class World:
    """One upstream object on a few clusters: real copies, a controller executing effects level-
    triggered, and the finalizer handled only as the effects and ``needs_finalizer`` say."""

    policy: LifecyclePolicy
    clusters: tuple[str, ...]
    states: dict[str, SyncState] = field(default_factory=dict)
    copies: dict[str, str | None] = field(default_factory=dict)  # None, "ours", "released"
    queues: dict[str, list[Effect]] = field(default_factory=dict)
    reachable: dict[str, bool] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    finalizer: bool = False
    now: datetime = T0

    def __post_init__(self) -> None:
        for c in self.clusters:
            self.states[c] = SyncState()
            self.copies[c] = None
            self.queues[c] = []
            self.reachable[c] = True

    def send(self, cluster: str, event: Event) -> None:
        state, effects = transition(self.states[cluster], event, policy=self.policy)
        self.states[cluster] = state
        for effect in effects:
            if effect is Effect.ADD_FINALIZER:
                self.finalizer = True
            elif effect is not Effect.RESCHEDULE:
                self.queues[cluster].append(effect)
        if self.finalizer and not needs_finalizer(self.states.values()):
            self.finalizer = False  # the controller removes it at the first chance
        self.check()

    def deliver(self, cluster: str) -> None:
        """The cluster answers: run its queued effects against the *current* state."""
        if cluster in self.removed or not self.reachable[cluster]:
            return
        while self.queues[cluster]:
            effect = self.queues[cluster].pop(0)
            state = self.states[cluster]
            live = state.phase in (Phase.SYNCING, Phase.SYNCED) and not state.upstream_deleted
            if effect is Effect.APPLY and live:
                assert self.finalizer, "a copy is written while the upstream has no finalizer"
                if self.copies[cluster] == "released":
                    self.send(cluster, ApplyFailed(message="exists and is not managed by tmc"))
                else:
                    self.copies[cluster] = "ours"
                    self.send(cluster, Applied())
            elif effect is Effect.DELETE and state.phase is Phase.DELETING and not state.releasing:
                if self.copies[cluster] == "ours":
                    self.copies[cluster] = None
                self.send(cluster, Gone())
            elif effect is Effect.RELEASE and state.phase is Phase.DELETING and state.releasing:
                if self.copies[cluster] == "ours":
                    self.copies[cluster] = "released"
                self.send(cluster, Released())

    def check(self) -> None:
        for c in self.clusters:
            if c in self.removed:
                continue
            if self.copies[c] == "ours":
                assert self.finalizer, f"finalizer dropped while {c} still holds our copy"
            if self.states[c].phase in (Phase.DELETED, Phase.ORPHANED):
                assert self.copies[c] != "ours", f"{c} is {self.states[c].phase} but our copy is there"


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("event"),
            st.integers(0, 2),
            st.sampled_from(
                ["Scheduled", "Unscheduled", "Drifted", "NotReady", "Ready", "Leaving", "Removed", "Lost"]
            ),
        ),
        st.tuples(st.just("tick"), st.integers(0, 2), st.integers(0, 600)),
        st.tuples(st.just("deliver"), st.integers(0, 2), st.just(0)),
    ),
    max_size=40,
)


def _event(world: World, cluster: str, name: str) -> None:
    if cluster in world.removed:
        if name != "Scheduled":
            return  # a removed cluster reports nothing
        world.removed.discard(cluster)  # it registered again and placement picked it
        world.reachable[cluster] = True
    if name == "NotReady":
        world.reachable[cluster] = False
        world.send(cluster, ClusterNotReady(at=world.now))
    elif name == "Ready":
        world.reachable[cluster] = True
        world.send(cluster, ClusterReady())
    elif name == "Removed":
        world.removed.add(cluster)
        world.send(cluster, ClusterRemoved())
    elif name == "Lost":  # someone deleted our copy on the member
        if world.copies[cluster] == "ours" and world.reachable[cluster] and cluster not in world.removed:
            world.copies[cluster] = None
            world.send(cluster, Gone())
    else:
        simple: dict[str, Event] = {
            "Scheduled": Scheduled(),
            "Unscheduled": Unscheduled(),
            "Drifted": Drifted(),
            "Leaving": ClusterLeaving(),
        }
        world.send(cluster, simple[name])


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 3),
    orphan=st.booleans(),
    prefix=steps,
)
def test_lifecycle_ends_in_deleted_or_orphaned_and_keeps_the_finalizer_until_then(
    n: int, orphan: bool, prefix: list[tuple[str, int, Any]]
) -> None:
    clusters = CLUSTERS[:n]
    world = World(
        policy=LifecyclePolicy(
            grace_period=timedelta(minutes=5), on_removal="Orphan" if orphan else "Delete"
        ),
        clusters=clusters,
    )
    for what, i, arg in prefix:
        cluster = clusters[i % n]
        if what == "event":
            _event(world, cluster, arg)
        elif what == "tick":
            world.now += timedelta(seconds=arg)
            world.send(cluster, Tick(now=world.now))
        else:
            world.deliver(cluster)

    # The upstream object is deleted; every cluster that still exists answers from now on.
    for c in clusters:
        world.send(c, UpstreamDeleted())
    for _ in range(3):
        for c in clusters:
            if c not in world.removed:
                world.reachable[c] = True
                world.send(c, ClusterReady())
                world.now += timedelta(seconds=30)
                world.send(c, Tick(now=world.now))
                world.deliver(c)

    assert all(world.states[c].phase in (Phase.DELETED, Phase.ORPHANED) for c in clusters), world.states
    assert not world.finalizer
    for c in clusters:
        if c not in world.removed:
            assert world.copies[c] != "ours"
            if not orphan:
                assert world.copies[c] != "released" or world.states[c].phase is Phase.ORPHANED
