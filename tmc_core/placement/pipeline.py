"""Place one workload: filter -> score -> select -> divide, per clusterAffinities term, with reasons.

The pipeline is the Kubernetes scheduler framework's shape over numpy arrays. Static parts (filters
and scores that depend on the policy term only) are computed once per batch through ``PolicyCache``;
per workload only capacity-dependent work remains.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.decision import ClusterScore, Explanation, summarise_filtered
from tmc_core.model.policy import ClusterAffinityTerm, PlacementPolicy, Prioritizer
from tmc_core.model.quantity import Quantity, QuantityFormat
from tmc_core.model.workload import Workload
from tmc_core.placement.cycle import Cycle, available_replicas
from tmc_core.placement.divide import (
    divide_duplicated,
    divide_dynamic,
    divide_static,
    static_weights,
    webster,
)
from tmc_core.placement.filters import Filter, affinity_mask
from tmc_core.placement.index import FleetIndex
from tmc_core.placement.registry import DEFAULT_REGISTRY, Registry, effective_prioritizers
from tmc_core.placement.scores import check_range
from tmc_core.placement.select import Ranked, rank, select_clusters

__all__ = ["Outcome", "PolicyCache", "TermView", "gvk_of", "place_workload", "term_view"]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


SUM_ORDER: dict[str, int] = {"LeastAllocated": 0, "MostAllocated": 1, "BalancedAllocation": 2, "Balance": 3}
"""The order capacity-dependent scores are added to a total in, whatever order a policy lists them
in: a fixed order lets the compiled kernel add them branch-free and stay bit-identical (floating
point addition is not associative); other dynamic plugins follow, in the policy's order."""


def gvk_of(workload: Workload) -> str:
    """``group/version/Kind`` (or ``version/Kind`` for the core group) of a workload."""
    return f"{workload.api_version}/{workload.kind}"


@dataclass(frozen=True, slots=True)
class _StaticPart:
    """What one policy term fixes for every workload of a kind: static masks and static scores."""

    masks: tuple[BoolArray, ...]
    strict: BoolArray
    soft: BoolArray
    both: BoolArray
    static_total: FloatArray
    static_parts: dict[str, FloatArray]
    dynamic: tuple[tuple[str, Prioritizer], ...]
    ordered: bool


@dataclass(slots=True)
class PolicyCache:
    """Static filter masks, static scores and static weights, keyed by policy identity and term.

    Lives for one batch call (policies are immutable, so identity is a safe key while the batch
    holds them); never shared across calls, so the core keeps no state between calls.
    """

    statics: dict[tuple[int, int, str], _StaticPart] = field(default_factory=dict)
    weights: dict[tuple[int, int], BoolArray] = field(default_factory=dict)
    terms: dict[int, tuple[ClusterAffinityTerm, ...]] = field(default_factory=dict)
    requirements: dict[tuple[str, str, str, tuple[str, ...]], BoolArray] = field(default_factory=dict)
    """Label- and field-requirement masks by (kind, key, operator, values): one index per call, and
    its policies repeat the same few selectors (89 requirements, 19 distinct, in the benchmark's 32
    policies)."""
    reasons: dict[tuple[int, int, str, int], dict[int, str]] = field(default_factory=dict)
    """Per policy term, kind and static filter: the words for each cluster it rejected so far (a
    static filter's reason depends on the term and the cluster only)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result for one workload: fleet indices and replicas (rank order), status and reasons."""

    clusters: IntArray
    replicas: IntArray
    schedulable: bool
    reason: str = ""
    term: str = ""
    explanation: Explanation | None = None


def _needs_order(policy: PlacementPolicy) -> bool:
    """Whether selection or division reads the rank order (otherwise scores only explain)."""
    hard_topology = any(t.when_unsatisfiable == "DoNotSchedule" for t in policy.topology_spread_constraints)
    spreads = bool(policy.spread_constraints) and policy.replica_strategy != "StaticWeight"
    return (
        policy.placement_type == "PickN"
        or spreads
        or hard_topology
        or policy.replica_strategy == "Aggregated"
    )


def _static_part(cycle: Cycle, registry: Registry, cache: PolicyCache) -> _StaticPart:
    key = (id(cycle.policy), cycle.term_index, cycle.gvk)
    part = cache.statics.get(key)
    if part is not None:
        return part
    n = cycle.index.size
    masks: list[BoolArray] = []
    strict = np.ones(n, dtype=np.bool_)
    soft = np.ones(n, dtype=np.bool_)
    pick_fixed = cycle.policy.placement_type == "PickFixed"
    for f in registry.filters:
        if not f.static:
            continue
        m = f.mask(cycle) if f.binds_pick_fixed or not pick_fixed else np.ones(n, dtype=np.bool_)
        masks.append(m)
        if f.keeps_current:
            soft &= m
        else:
            strict &= m
    both = strict & soft
    total = np.zeros(n)
    parts: dict[str, FloatArray] = {}
    dynamic: list[tuple[str, Prioritizer]] = []
    # As for dynamic scores (``_scores``): built-in static scores are 0..100 by construction (the
    # property tests check them); plugins from any other registry are range-checked.
    trusted = registry is DEFAULT_REGISTRY
    for p in effective_prioritizers(cycle.policy):
        plugin = registry.score(p.name)
        label = f"{p.name}({p.property})" if p.property else p.name
        if plugin.static:
            s = plugin.score(cycle, p, both)
            if not trusted:
                check_range(label, s, both)
            parts[label] = s
            if p.weight:
                total += p.weight * s
        else:
            dynamic.append((label, p))
    part = _StaticPart(
        tuple(masks), strict, soft, both, total, parts, tuple(dynamic), _needs_order(cycle.policy)
    )
    cache.statics[key] = part
    return part


def _filter_masks(cycle: Cycle, registry: Registry, part: _StaticPart) -> list[tuple[Filter, BoolArray]]:
    """Every filter's mask (static ones from the cache), with the keep-current exception applied."""
    out: list[tuple[Filter, BoolArray]] = []
    statics = iter(part.masks)
    holding = cycle.holding
    for f in registry.filters:
        m = next(statics) if f.static else f.mask(cycle)
        if f.keeps_current:
            m = m | holding
        out.append((f, m))
    return out


def _filtered_reasons(
    cycle: Cycle, masks: Sequence[tuple[Filter, BoolArray]], ok: BoolArray, cache: PolicyCache
) -> dict[str, str]:
    """For every rejected cluster (in fleet order), the first filter that rejected it and its words.

    Asked for every unschedulable workload, over every cluster of the fleet, so it works per filter
    on arrays: a filter's ``reasons`` words many clusters at once when it has one (resource fit
    does), and static filters' words are remembered per policy term for the rest of the batch.
    """
    rejected = np.flatnonzero(~ok)
    words = np.empty(rejected.size, dtype=object)
    left = np.arange(rejected.size)
    for position, (f, m) in enumerate(masks):
        if left.size == 0:
            break
        fails = ~m[rejected[left]]
        hit = left[fails]
        left = left[~fails]
        if hit.size == 0:
            continue
        clusters = rejected[hit]
        bulk = getattr(f, "reasons", None)
        if bulk is not None:
            words[hit] = bulk(cycle, clusters)
        elif f.static:
            key = (id(cycle.policy), cycle.term_index, cycle.gvk, position)
            memo = cache.reasons.setdefault(key, {})
            for j, i in zip(hit.tolist(), clusters.tolist(), strict=True):
                text = memo.get(i)
                if text is None:
                    text = memo[i] = f.reason(cycle, i)
                words[j] = text
        else:
            for j, i in zip(hit.tolist(), clusters.tolist(), strict=True):
                words[j] = f.reason(cycle, i)
    names = cycle.index.names
    return {names[i]: words[j] for j, i in enumerate(rejected.tolist()) if words[j] is not None}


def _scores(
    cycle: Cycle,
    part: _StaticPart,
    feasible: BoolArray,
    registry: Registry,
    breakdown: bool,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Weighted total: the cached static part, then each capacity-dependent prioritizer in order.

    Built-in dynamic scores are clipped to 0..100 by construction; plugins from any other
    registry are range-checked on every call.
    """
    parts: dict[str, FloatArray] = dict(part.static_parts) if breakdown else {}
    if not part.dynamic:
        return part.static_total, parts
    total = part.static_total.copy()
    trusted = registry is DEFAULT_REGISTRY
    weighted: list[tuple[int, float, FloatArray]] = []
    for label, p in part.dynamic:
        s = registry.score(p.name).score(cycle, p, feasible)
        if not trusted:
            check_range(label, s, feasible)
        if p.weight:
            weighted.append((SUM_ORDER.get(p.name, len(SUM_ORDER)), p.weight, s))
        if breakdown:
            parts[label] = s
    weighted.sort(key=lambda item: item[0])  # stable: other plugins keep the policy's order
    for _, weight, s in weighted:
        total += weight * s
    return total, parts


def _weights(cycle: Cycle, chosen: IntArray, cache: PolicyCache) -> IntArray:
    """Static weights of the chosen clusters: max over matching rules, all 1 when none matches."""
    key = (id(cycle.policy), cycle.term_index)
    matches = cache.weights.get(key)
    rs = cycle.policy.replica_scheduling
    rules = rs.weight_preference.static_weight_list if rs and rs.weight_preference else ()
    if not rules:
        return np.ones(chosen.size, dtype=np.int64)
    if matches is None:
        matches = np.stack([affinity_mask(cycle.index, r.target_cluster, cycle.requirements) for r in rules])
        cache.weights[key] = matches
    return static_weights(matches[:, chosen], np.array([r.weight for r in rules], dtype=np.int64))


def _capped(replicas: IntArray, limit: IntArray, votes: IntArray, names: IntArray, uid: str) -> IntArray:
    """Keep a capacity-blind division within each cluster's room by handing excess seats on along
    the same Sainte-Lague sequence among clusters that still have room (tmc's capacity guard)."""
    out = np.minimum(replicas, limit)
    excess = int(replicas.sum() - out.sum())
    while excess > 0:
        open_ = np.flatnonzero((out < limit) & (votes > 0))
        if open_.size == 0:
            break
        more = webster(excess, votes[open_], names[open_], initial=out[open_], uid=uid)
        grown = np.minimum(more, limit[open_])
        excess = int(more.sum() - grown.sum())
        out[open_] = grown
    return out


def _quantity_text(resource: str, units: int) -> str:
    if resource == "cpu":
        return str(Quantity.from_nanos(units * 10**6))
    fmt = (
        QuantityFormat.BINARY_SI if resource in ("memory", "ephemeral-storage") else QuantityFormat.DECIMAL_SI
    )
    return str(Quantity.from_nanos(units * 10**9, fmt))


def _unused_fixed(cycle: Cycle, chosen: IntArray, filtered: dict[str, str]) -> str:
    """Each PickFixed name that is not used, and why."""
    used = {cycle.index.names[i] for i in chosen.tolist()}
    parts = []
    for name in sorted(set(cycle.policy.cluster_names) - used):
        why = "not found" if name not in cycle.index.position else filtered.get(name, "not selected")
        parts.append(f"{name} ({why})")
    return ", ".join(parts)


def _shortfall(cycle: Cycle, chosen: IntArray, missing: int) -> str:
    """What the roomiest chosen cluster (then the lowest name) lacks to take the missing replicas."""
    room = int(cycle.room[chosen].sum())
    head = f"needs {cycle.workload.replicas} replicas, selected clusters have room for {room}"
    if chosen.size == 0 or missing <= 0:
        return head
    c = int(chosen[np.lexsort((cycle.index.name_rank[chosen], -cycle.room[chosen]))[0]])
    lacks = []
    for r, res in enumerate(cycle.index.resources):
        req = int(cycle.request[r])
        if req <= 0:
            continue
        need = (int(cycle.available[c]) + missing) * req - int(cycle.free[c, r])
        if need > 0:
            lacks.append(f"{_quantity_text(res, need)} {res}")
    if lacks:
        head += f"; cluster {cycle.index.names[c]} lacks {', '.join(lacks)} for {missing} more"
    return head


def _divide(cycle: Cycle, chosen: IntArray, cache: PolicyCache) -> tuple[IntArray | None, str, int]:
    """Replicas per chosen cluster, or (None, message, shortfall) when capacity is short."""
    w = cycle.workload
    names = cycle.index.name_rank[chosen]  # name order without sorting strings
    strategy = cycle.policy.replica_strategy
    if strategy == "Duplicated":
        return divide_duplicated(w.replicas, len(chosen)), "", 0
    if chosen.size == 0 and w.replicas > 0:
        return None, "No clusters available to schedule.", w.replicas
    room = cycle.room[chosen]
    if strategy == "StaticWeight":
        weights = _weights(cycle, chosen, cache)
        result = divide_static(w.replicas, weights, names, w.uid)
        if int(room[weights > 0].sum()) < w.replicas:
            short = w.replicas - int(room[weights > 0].sum())
            msg = f"Clusters available replicas {int(room[weights > 0].sum())} are not enough to schedule."
            return None, msg, short
        return _capped(result, room, weights, names, w.uid), "", 0
    division = divide_dynamic(
        w.replicas,
        cycle.available[chosen],
        cycle.previous[chosen],
        names,
        w.uid,
        aggregated=strategy == "Aggregated",
    )
    if not division.schedulable or division.replicas is None:
        return None, division.message, division.shortfall
    return division.replicas, "", 0


def _cycles(
    index: FleetIndex,
    workload: Workload,
    policy: PlacementPolicy,
    gvk: str,
    request: IntArray,
    free: IntArray,
    available: IntArray,
    previous: IntArray,
    placed: IntArray,
    cache: PolicyCache,
) -> Iterator[Cycle]:
    """One attempt's inputs per clusterAffinities term, in order (terms cached per policy)."""
    terms = cache.terms.get(id(policy))
    if terms is None:
        terms = cache.terms[id(policy)] = policy.affinity_terms()
    for t, term in enumerate(terms):
        cycle = Cycle(
            index=index,
            policy=policy,
            term=term,
            term_index=t,
            workload=workload,
            gvk=gvk,
            request=request,
            free=free,
            available=available,
            previous=previous,
            placed=placed,
            requirements=cache.requirements,
        )
        yield cycle


def place_workload(
    index: FleetIndex,
    workload: Workload,
    policy: PlacementPolicy,
    *,
    free: IntArray,
    request: IntArray,
    previous: IntArray,
    placed: IntArray,
    registry: Registry = DEFAULT_REGISTRY,
    cache: PolicyCache | None = None,
    explain: bool = False,
    policy_changed: bool = False,
) -> Outcome:
    """Decide where ``workload`` runs given the capacity snapshot ``free`` (C x R).

    Tries the policy's clusterAffinities terms in order and keeps the first that places the workload
    (Karmada's fallback); when none does, the first term's failure is reported. Unlike Karmada, every
    call starts from the first term, so workloads return to the preferred group once it has room.
    """
    cache = cache if cache is not None else PolicyCache()
    gvk = gvk_of(workload)
    available = available_replicas(free, request)
    first_failure: Outcome | None = None
    steady = not policy_changed and _wants_steady(policy, workload, previous)
    args = (index, workload, policy, gvk, request, free, available, previous, placed, cache)
    for cycle in _cycles(*args):
        term = cycle.term
        if steady:
            kept = _keep_current(cycle, registry, cache)
            if kept is not None:
                if explain:
                    fresh = _attempt(cycle, term, registry, cache, explain)
                    if fresh.explanation is not None:
                        kept = replace(
                            kept,
                            explanation=fresh.explanation.model_copy(
                                update={
                                    "selected": tuple(index.names[i] for i in kept.clusters.tolist()),
                                    "notes": ("kept the current assignment: nothing it depends on changed",),
                                }
                            ),
                        )
                return kept
        outcome = _attempt(cycle, term, registry, cache, explain)
        if outcome.schedulable:
            return outcome
        if first_failure is None:
            first_failure = outcome
    assert first_failure is not None
    return first_failure


def _wants_steady(policy: PlacementPolicy, workload: Workload, previous: IntArray) -> bool:
    """Whether the current assignment is complete, so an unchanged world need not move it.

    Karmada re-schedules a divided workload only when its replicas or its placement change; tmc
    keeps a complete assignment whose clusters all still pass, unless the caller says the policy
    changed. Duplicated PickAll workloads always re-run, so that they reach new clusters.
    """
    held = previous[previous > 0]
    if held.size == 0:
        return False
    strategy = policy.replica_strategy
    if strategy == "Duplicated":
        if not np.all(held == workload.replicas):
            return False
        if policy.placement_type != "PickAll":
            return True
        # PickAll re-runs to reach new clusters, unless a cluster spread constraint caps the pick
        # and the workload already runs on that many (re-running would only trade equals, flapping
        # between clusters as their scores move).
        caps = [sc.max_groups for sc in policy.spread_constraints if sc.key == "cluster" and sc.max_groups]
        return bool(caps) and held.size >= min(caps)
    return int(held.sum()) == workload.replicas


def _keep_current(cycle: Cycle, registry: Registry, cache: PolicyCache) -> Outcome | None:
    """The current assignment, if every cluster of it still passes this term and the pick count
    still holds; ``None`` when the workload must be placed afresh."""
    policy = cycle.policy
    part = _static_part(cycle, registry, cache)
    held = np.flatnonzero(cycle.previous)
    ok = part.strict[held]
    for f in registry.filters:
        if not f.static and not f.keeps_current:
            ok &= f.mask(cycle)[held]
    if not ok.all():
        return None
    # Duplicated: every picked cluster runs the workload, so the held clusters are the pick. Divided:
    # a decision lists only the clusters that got replicas, and a picked cluster may get none
    # (fewer replicas than clusters, Aggregated packing, a weight or room of zero), so any count
    # up to the pick is complete; equal static weights ignore spread constraints altogether (as
    # Karmada's static division does). A picked cluster that has no room left for a replica it was
    # never given is no reason to move the ones that run.
    duplicated = policy.replica_strategy == "Duplicated"
    if policy.placement_type == "PickN":
        wanted = policy.number_of_clusters or 0
        if held.size > wanted or (duplicated and held.size != wanted):
            return None
    if policy.replica_strategy != "StaticWeight":
        for sc in policy.spread_constraints:
            too_few = duplicated and held.size < sc.effective_min
            too_many = bool(sc.max_groups) and held.size > sc.max_groups
            if sc.key == "cluster" and (too_few or too_many):
                return None
    term = cycle.term.affinity_name if policy.cluster_affinities else ""
    return Outcome(held, cycle.previous[held].copy(), True, "", term)


def _attempt(
    cycle: Cycle,
    term: ClusterAffinityTerm,
    registry: Registry,
    cache: PolicyCache,
    explain: bool,
) -> Outcome:
    index = cycle.index
    part = _static_part(cycle, registry, cache)
    holding = cycle.holding
    held = bool(holding.any())
    ok = part.strict & (part.soft | holding) if held else part.both.copy()
    for f in registry.filters:
        if not f.static:
            m = f.mask(cycle)
            ok &= (m | holding) if (held and f.keeps_current) else m
    feasible = np.flatnonzero(ok)
    empty = np.zeros(0, dtype=np.int64)
    term_name = term.affinity_name if cycle.policy.cluster_affinities else ""

    def reasons() -> dict[str, str]:
        return _filtered_reasons(cycle, _filter_masks(cycle, registry, part), ok, cache)

    if feasible.size == 0:
        filtered = reasons()
        summary = summarise_filtered(index.size, 0, filtered)
        if cycle.policy.placement_type == "PickFixed":
            summary += "; fixed clusters not used: " + _unused_fixed(cycle, empty, filtered)
        return Outcome(
            empty,
            empty,
            False,
            summary,
            term_name,
            Explanation(total_clusters=index.size, filtered=filtered, affinity_term=term_name)
            if explain
            else None,
        )

    if part.ordered or explain:
        total, parts = _scores(cycle, part, ok, registry, explain)
        policy = cycle.policy
        plain_pick_n = not (explain or policy.spread_constraints or policy.topology_spread_constraints)
        limit = policy.number_of_clusters or 0 if policy.placement_type == "PickN" and plain_pick_n else None
        ranked = rank(index, feasible, total, cycle.room, limit=limit)
    else:
        # Selection and division do not read the order: skip scoring (explanations still score).
        parts = {}
        ranked = Ranked(feasible, np.zeros(feasible.size), cycle.room[feasible])
    selection = select_clusters(index, cycle.policy, ranked, cycle.workload.replicas)

    def explanation(
        selected: IntArray, shortfall: str = "", notes: tuple[str, ...] = ()
    ) -> Explanation | None:
        if not explain:
            return None
        return Explanation(
            total_clusters=index.size,
            filtered=reasons(),
            scores=_ranked_scores(index, ranked, parts),
            selected=tuple(index.names[i] for i in selected.tolist()),
            shortfall=shortfall,
            affinity_term=term_name,
            notes=notes,
        )

    def kept(reason: str, why: Explanation | None) -> Outcome:
        # Only "no cluster fits" clears the assignment (Karmada's FitError); otherwise keep it.
        keep = np.flatnonzero(cycle.previous)
        summary = summarise_filtered(index.size, int(feasible.size), reasons())
        return Outcome(keep, cycle.previous[keep].copy(), False, f"{reason} ({summary})", term_name, why)

    if not selection.ok:
        return kept(selection.error, explanation(empty, notes=(selection.error,)))

    chosen = selection.clusters
    replicas, message, missing = _divide(cycle, chosen, cache)
    if replicas is None:
        shortfall = _shortfall(cycle, chosen, missing)
        return kept(f"{message.rstrip('.')}: {shortfall}", explanation(chosen, shortfall))
    if selection.partial:
        summary = summarise_filtered(index.size, int(feasible.size), reasons())
        partial = selection.partial
        if cycle.policy.placement_type == "PickFixed":
            partial += ": " + _unused_fixed(cycle, chosen, reasons())
        return Outcome(
            chosen,
            replicas,
            False,
            f"{partial} ({summary})",
            term_name,
            explanation(chosen, notes=(selection.partial,)),
        )
    return Outcome(chosen, replicas, True, "", term_name, explanation(chosen))


def _ranked_scores(
    index: FleetIndex, ranked: Ranked, parts: dict[str, FloatArray]
) -> tuple[ClusterScore, ...]:
    return tuple(
        ClusterScore(
            cluster=index.names[c],
            total=float(ranked.score[k]),
            plugins={name: round(float(s[c]), 3) for name, s in parts.items()},
        )
        for k, c in enumerate(ranked.clusters.tolist())
    )


@dataclass(frozen=True, slots=True)
class TermView:
    """What optimisation models need from the pipeline for one workload: the clusters its policy
    allows (every filter but resource fit, which models state as capacity constraints), each with
    its weighted placement score and the clusterAffinities group that allows it (0 = first)."""

    eligible: IntArray
    score: FloatArray
    level: IntArray


def term_view(
    index: FleetIndex,
    workload: Workload,
    policy: PlacementPolicy,
    *,
    free: IntArray,
    request: IntArray,
    previous: IntArray,
    placed: IntArray,
    cache: PolicyCache | None = None,
    registry: Registry = DEFAULT_REGISTRY,
) -> TermView:
    """Eligible clusters over all clusterAffinities groups; a cluster allowed by several groups
    takes the earliest group's level and score."""
    cache = cache if cache is not None else PolicyCache()
    gvk = gvk_of(workload)
    available = available_replicas(free, request)
    level = np.full(index.size, -1, dtype=np.int64)
    score = np.zeros(index.size)
    args = (index, workload, policy, gvk, request, free, available, previous, placed, cache)
    for cycle in _cycles(*args):
        t = cycle.term_index
        part = _static_part(cycle, registry, cache)
        holding = cycle.holding
        ok = part.strict & (part.soft | holding) if holding.any() else part.both
        new = ok & (level < 0)
        if new.any():
            total, _ = _scores(cycle, part, ok, registry, False)
            level[new] = t
            score[new] = total[new]
    eligible = np.flatnonzero(level >= 0)
    return TermView(eligible, score[eligible], level[eligible])
