"""A straightforward per-cluster Python placement: the test oracle and the benchmark baseline.

It walks clusters one by one with the model's own matching methods (``ClusterAffinity.matches``,
``Toleration.tolerates``, ``Cluster.serves``) and plain integers, written for obviousness, not
speed. The vectorised engine must give the same decisions. Selection and division are small,
per-candidate steps already written plainly, so both implementations share them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tmc_core.model.cluster import Cluster, Taint
from tmc_core.model.decision import Decision, TargetCluster
from tmc_core.model.policy import ClusterAffinity, PlacementPolicy, Prioritizer
from tmc_core.placement.batch import PlacementTask, placement_order
from tmc_core.placement.divide import divide_duplicated, divide_dynamic, divide_static, webster
from tmc_core.placement.filters import NOT_READY_TAINT
from tmc_core.placement.index import UNLIMITED, FleetIndex, to_units
from tmc_core.placement.registry import effective_prioritizers
from tmc_core.placement.select import Ranked, select_clusters

__all__ = ["place_reference"]

_KARMADA_NOT_READY = Taint(key="cluster.karmada.io/not-ready", effect="NoSchedule")


def _units(cluster: Cluster, resource: str) -> tuple[int, int]:
    """(allocatable, free) of one resource on one cluster, as the index defines them."""
    if resource in cluster.allocatable:
        alloc = to_units(resource, cluster.allocatable[resource])
        used = to_units(resource, cluster.allocated[resource]) if resource in cluster.allocated else 0
        return alloc, max(0, alloc - used)
    if resource == "pods" and len(cluster.allocatable) > 0:
        return int(UNLIMITED), int(UNLIMITED)
    return 0, 0


def _tolerated(policy: PlacementPolicy, taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in policy.cluster_tolerations)


def _passes(
    cluster: Cluster,
    policy: PlacementPolicy,
    affinity: ClusterAffinity,
    gvk: str,
    holding: bool,
    room: int,
    need: int,
) -> bool:
    api_version, _, kind = gvk.rpartition("/")
    if not holding and not cluster.serves(api_version, kind):
        return False
    if policy.placement_type == "PickFixed":
        # Fleet's PickFixed: only the name, the served kind and room count.
        return cluster.name in policy.cluster_names and room >= need
    if not affinity.matches(cluster):
        return False
    if not holding:
        for taint in cluster.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not _tolerated(policy, taint):
                return False
    tolerates_not_ready = _tolerated(policy, NOT_READY_TAINT) or _tolerated(policy, _KARMADA_NOT_READY)
    if not holding and not cluster.ready and not tolerates_not_ready:
        return False
    for sc in policy.spread_constraints:
        if sc.spread_by_label and sc.spread_by_label not in cluster.labels:
            return False
        field = sc.spread_by_field
        if field and field != "cluster" and not cluster.fields[field]:
            return False
    for tc in policy.topology_spread_constraints:
        if tc.when_unsatisfiable == "DoNotSchedule" and tc.topology_key not in cluster.labels:
            return False
    return room >= need


def _fractions(
    cluster: Cluster, request: dict[str, int], free: dict[str, int], resources: Sequence[str]
) -> list[float]:
    asked = [r for r in resources if r != "pods" and request.get(r, 0) > 0]
    if not asked:
        asked = [r for r in resources if r in ("cpu", "memory")]
    out = []
    for r in asked:
        alloc, _ = _units(cluster, r)
        used = float(alloc) - float(free[r]) + float(request.get(r, 0))
        frac = used * (1.0 / float(alloc)) if 0 < alloc < UNLIMITED else 1.0
        out.append(min(1.0, max(0.0, frac)))
    return out


def _mean(values: list[float]) -> float:
    total = values[0]
    for v in values[1:]:
        total += v
    return total / len(values)


def _spread(values: list[float]) -> float:
    m = _mean(values)
    ss = (values[0] - m) * (values[0] - m)
    for v in values[1:]:
        ss += (v - m) * (v - m)
    return math.sqrt(ss / len(values))


def _minmax(values: list[float | None], higher: bool) -> list[float]:
    have = [v for v in values if v is not None]
    if not have:
        return [0.0] * len(values)
    lo, hi = min(have), max(have)
    out = []
    for v in values:
        if v is None:
            out.append(0.0)
        elif hi == lo:
            out.append(100.0)
        else:
            scaled = (v - lo) / (hi - lo)
            out.append((scaled if higher else 1.0 - scaled) * 100.0)
    return out


def _score(
    p: Prioritizer,
    policy: PlacementPolicy,
    clusters: Sequence[Cluster],
    feasible: Sequence[int],
    static_ok: Sequence[int],
    request: dict[str, int],
    free: Sequence[dict[str, int]],
    resources: Sequence[str],
    previous: Sequence[int],
    placed: Sequence[int],
) -> dict[int, float]:
    """One prioritizer over the feasible clusters (static ones normalised over ``static_ok``)."""
    name = p.name
    if name in ("LeastAllocated", "MostAllocated", "BalancedAllocation"):
        out = {}
        for i in feasible:
            fr = _fractions(clusters[i], request, free[i], resources)
            if name == "LeastAllocated":
                out[i] = 100.0 if not fr else (1.0 - _mean(fr)) * 100.0
            elif name == "MostAllocated":
                out[i] = 0.0 if not fr else _mean(fr) * 100.0
            else:
                out[i] = 100.0 if len(fr) < 2 else min(100.0, max(0.0, (1.0 - _spread(fr)) * 100.0))
        return out
    if name == "Steady":
        return {i: 100.0 if previous[i] > 0 else 0.0 for i in feasible}
    if name == "Balance":
        top = max((placed[i] for i in feasible), default=0)
        return {i: 100.0 if top == 0 else (1.0 - placed[i] / top) * 100.0 for i in feasible}
    if name == "PreferredAffinity":
        span = float(sum(abs(t.weight) for t in policy.preferred_cluster_affinities))
        out = {}
        for i in feasible:
            if span == 0:
                out[i] = 50.0
                continue
            total = 0.0
            for t in policy.preferred_cluster_affinities:
                if t.preference.matches(clusters[i]):
                    total += t.weight
            out[i] = (total + span) / (2 * span) * 100.0
        return out
    if name == "TaintPreference":

        def count(c: Cluster) -> int:
            return sum(1 for t in c.taints if t.effect == "PreferNoSchedule" and not _tolerated(policy, t))

        top = max((count(clusters[i]) for i in static_ok), default=0)
        return {
            i: 100.0 if top == 0 else max(0.0, (1.0 - count(clusters[i]) / top) * 100.0) for i in feasible
        }
    if name in ("ClusterProperty", "ResourceAllocatableCPU", "ResourceAllocatableMemory"):

        def value(c: Cluster) -> float | None:
            if name == "ClusterProperty":
                return c.properties.get(p.property or "")
            res = "cpu" if name == "ResourceAllocatableCPU" else "memory"
            if res not in resources:
                return None
            return float(_units(c, res)[0])

        vals = _minmax(
            [value(clusters[i]) for i in static_ok],
            p.prefer == "Higher" or name != "ClusterProperty",
        )
        by = dict(zip(static_ok, vals, strict=True))
        return {i: by.get(i, 0.0) for i in feasible}
    if name == "TopologySpread":
        constraints = policy.topology_spread_constraints
        if not constraints:
            return {i: 100.0 for i in feasible}
        out = {i: 0.0 for i in feasible}
        for tc in constraints:
            sizes: dict[str, int] = {}
            for i in static_ok:
                v = clusters[i].labels.get(tc.topology_key)
                if v:
                    sizes[v] = sizes.get(v, 0) + 1
            if not sizes:
                continue
            smallest = min(sizes.values())
            for i in feasible:
                v = clusters[i].labels.get(tc.topology_key)
                if v and i in static_ok:
                    out[i] += smallest / sizes[v] * 100.0
        return {i: s / len(constraints) for i, s in out.items()}
    raise KeyError(name)


def _place_one(
    index: FleetIndex,
    task: PlacementTask,
    free: list[dict[str, int]],
    placed: list[int],
) -> tuple[dict[int, int], bool]:
    clusters = index.fleet.clusters
    policy = task.policy
    w = task.workload
    resources = index.resources
    request = {
        r: (1 if r == "pods" else (to_units(r, w.requests[r]) if r in w.requests else 0)) for r in resources
    }
    previous = [task.current.get(c.name, 0) for c in clusters]
    avail = []
    for i in range(len(clusters)):
        a = math.inf
        for r in resources:
            if request[r] > 0:
                a = min(a, free[i][r] // request[r])
        avail.append(int(a))
    need = w.replicas if policy.replica_strategy == "Duplicated" else min(1, w.replicas)
    prioritizers = effective_prioritizers(policy)
    first: tuple[dict[int, int], bool] | None = None
    for term in policy.affinity_terms():
        feasible = [
            i
            for i, c in enumerate(clusters)
            if _passes(
                c,
                policy,
                term,
                f"{w.api_version}/{w.kind}",
                previous[i] > 0,
                avail[i] + previous[i],
                need,
            )
        ]
        static_ok = [
            i
            for i, c in enumerate(clusters)
            if _passes(c, policy, term, f"{w.api_version}/{w.kind}", False, 1, 0)
        ]
        if not feasible:
            result: tuple[dict[int, int], bool] = ({}, False)
        else:
            total = dict.fromkeys(feasible, 0.0)
            for p in prioritizers:
                s = _score(
                    p,
                    policy,
                    clusters,
                    feasible,
                    static_ok,
                    request,
                    free,
                    resources,
                    previous,
                    placed,
                )
                if p.weight:
                    for i in feasible:
                        total[i] += p.weight * s[i]
            order = sorted(feasible, key=lambda i: (-total[i], -(avail[i] + previous[i]), clusters[i].name))
            ranked = Ranked(
                np.array(order, dtype=np.int64),
                np.array([total[i] for i in order]),
                np.array([avail[i] + previous[i] for i in order], dtype=np.int64),
            )
            sel = select_clusters(index, policy, ranked, w.replicas)
            if sel.ok:
                result = _divide(index, task, sel.clusters.tolist(), avail, previous)
            else:
                result = ({i: previous[i] for i in range(len(previous)) if previous[i] > 0}, False)
            if sel.ok and sel.partial and result[1]:
                result = (result[0], False)
        if result[1]:
            return result
        if first is None:
            first = result
    assert first is not None
    return first


def _divide(
    index: FleetIndex, task: PlacementTask, chosen: list[int], avail: list[int], previous: list[int]
) -> tuple[dict[int, int], bool]:
    w = task.workload
    names = [index.names[i] for i in chosen]
    strategy = task.policy.replica_strategy
    if strategy == "Duplicated":
        return dict(zip(chosen, divide_duplicated(w.replicas, len(chosen)).tolist(), strict=True)), True
    if not chosen and w.replicas > 0:
        return {i: previous[i] for i in range(len(previous)) if previous[i] > 0}, False
    room = [avail[i] + previous[i] for i in chosen]
    if strategy == "StaticWeight":
        rs = task.policy.replica_scheduling
        rules = rs.weight_preference.static_weight_list if rs and rs.weight_preference else ()
        clusters = index.fleet.clusters
        weights = []
        for i in chosen:
            best = 0
            for rule in rules:
                if rule.target_cluster.matches(clusters[i]):
                    best = max(best, rule.weight)
            weights.append(best)
        if not any(weights):
            weights = [1] * len(chosen)
        if sum(r for r, wt in zip(room, weights, strict=True) if wt > 0) < w.replicas:
            return {i: previous[i] for i in range(len(previous)) if previous[i] > 0}, False
        out = divide_static(w.replicas, weights, names, w.uid).tolist()
        # Capacity guard, seat by seat: move each excess seat along the Sainte-Lague sequence.
        excess = sum(max(0, o - r) for o, r in zip(out, room, strict=True))
        out = [min(o, r) for o, r in zip(out, room, strict=True)]
        for _ in range(excess):
            open_ = [k for k in range(len(chosen)) if out[k] < room[k] and weights[k] > 0]
            step = webster(
                1,
                [weights[k] for k in open_],
                [names[k] for k in open_],
                initial=[out[k] for k in open_],
                uid=w.uid,
            )
            for pos, k in enumerate(open_):
                out[k] = int(step[pos])
        return dict(zip(chosen, out, strict=True)), True
    division = divide_dynamic(
        w.replicas,
        [avail[i] for i in chosen],
        [previous[i] for i in chosen],
        names,
        w.uid,
        aggregated=strategy == "Aggregated",
    )
    if not division.schedulable or division.replicas is None:
        return {i: previous[i] for i in range(len(previous)) if previous[i] > 0}, False
    return dict(zip(chosen, division.replicas.tolist(), strict=True)), True


def place_reference(clusters: Sequence[Cluster], tasks: Sequence[PlacementTask]) -> tuple[Decision, ...]:
    """Sequential placement of ``tasks``, one cluster at a time, for comparison with ``place_batch``."""
    asked = {r for t in tasks for r in t.workload.requests}
    index = FleetIndex.from_fleet(clusters, extra_resources=asked)
    free = [{r: _units(c, r)[1] for r in index.resources} for c in index.fleet.clusters]
    placed = [0] * index.size
    out: list[Decision | None] = [None] * len(tasks)
    for k in placement_order(tasks):
        task = tasks[k]
        assignment, ok = _place_one(index, task, free, placed)
        previous = {index.position[n]: v for n, v in task.current.items() if n in index.position}
        for i in set(assignment) | set(previous):
            delta = assignment.get(i, 0) - previous.get(i, 0)
            for r in index.resources:
                req = (
                    1
                    if r == "pods"
                    else (to_units(r, task.workload.requests[r]) if r in task.workload.requests else 0)
                )
                free[i][r] -= delta * req
        for i, n in assignment.items():
            if n > 0:
                placed[i] += 1
        duplicated = task.policy.replica_strategy == "Duplicated"
        targets = tuple(
            sorted(
                (
                    TargetCluster(name=index.names[i], replicas=n)
                    for i, n in assignment.items()
                    if duplicated or n > 0
                ),
                key=lambda t: t.name,
            )
        )
        out[k] = Decision(
            workload=task.workload.ref, placement=task.placement, clusters=targets, schedulable=ok
        )
    return tuple(d for d in out if d is not None)
