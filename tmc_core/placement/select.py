"""Select: from the ranked feasible clusters, choose the set a workload goes to.

Karmada's spread-constraint selection (cluster alone, or a group field plus cluster) is reproduced,
and the same group algorithm serves the fields Karmada does not implement (zone, provider, labels).
On top: Fleet's PickN / PickFixed and topology spread with ``maxSkew``. A selection that cannot
be made is a result with a reason, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.policy import PlacementPolicy, SpreadConstraint
from tmc_core.placement.index import Column, FleetIndex

__all__ = ["Ranked", "Selection", "rank", "select_clusters", "select_groups"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

GROUP_WEIGHT_UNIT = 1000.0
DFS_BUDGET = 200_000
"""Paths the group search may visit; beyond it the best path found so far is used."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """Feasible clusters in rank order (score desc, room desc, name asc) with their data."""

    clusters: IntArray
    score: FloatArray
    room: IntArray


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen clusters (fleet indices), or why none could be chosen.

    Clusters come in rank order, except after a spread constraint, where they come in the order of
    Karmada's selected list (which the Aggregated division's ties follow): see ``_by_cluster`` and
    ``_by_group``.

    ``partial`` marks a selection that is usable but short of what the policy asked (PickN found
    fewer clusters, PickFixed names missing): the workload is placed there and reported unschedulable.
    """

    clusters: IntArray
    error: str = ""
    partial: str = ""

    @property
    def ok(self) -> bool:
        """True when clusters were chosen (possibly partially)."""
        return not self.error


def rank(
    index: FleetIndex, feasible: IntArray, total: FloatArray, room: IntArray, limit: int | None = None
) -> Ranked:
    """Order feasible clusters as Karmada does: score desc, available replicas desc, name asc.

    With ``limit``, only the best ``limit`` clusters are returned (everything tied with the last of
    them is ranked too, so the cut is exact); PickN needs no more.
    """
    score = total[feasible]
    if limit is not None and 0 <= limit < feasible.size // 4:
        if limit == 0:
            return Ranked(feasible[:0], score[:0], room[feasible[:0]])
        kth = np.partition(score, score.size - limit)[score.size - limit]
        keep = np.flatnonzero(score >= kth)
        feasible, score = feasible[keep], score[keep]
    rooms = room[feasible]
    order = np.lexsort((index.name_rank[feasible], -rooms, -score))
    if limit is not None and order.size > limit:
        order = order[:limit]
    return Ranked(feasible[order], score[order], rooms[order])


def _group_codes(index: FleetIndex, sc: SpreadConstraint) -> Column:
    if sc.spread_by_label:
        return index.label(sc.spread_by_label)
    return index.fields[sc.spread_by_field or "cluster"]


def _group_score(
    positions: Sequence[int],
    ranked: Ranked,
    replicas: int,
    duplicated: bool,
    min_groups: int,
    cluster_min: int = 1,
) -> float:
    """Karmada's group score: capacity toward a per-group target first (x1000), then mean score.

    For divided workloads the group's clusters are taken in rank order until at least
    max(group minGroups, cluster minGroups) are taken and their room reaches the target.
    """
    if duplicated:
        valid = [p for p in positions if ranked.room[p] >= replicas]
        if not valid:
            return 0.0
        return len(valid) * GROUP_WEIGHT_UNIT + float(np.mean([ranked.score[p] for p in valid]))
    target = math.ceil(replicas / max(1, min_groups)) if replicas > 0 else 0
    total_room = 0
    total_score = 0.0
    taken = 0
    least = max(min_groups, cluster_min)
    for p in positions:
        total_room += int(ranked.room[p])
        total_score += float(ranked.score[p])
        taken += 1
        if total_room >= target and taken >= least:
            break
    if total_room < target:
        return total_room * GROUP_WEIGHT_UNIT + total_score / len(positions)
    return target * GROUP_WEIGHT_UNIT + total_score / taken


def select_groups(
    names: Sequence[str],
    values: Sequence[int],
    weights: Sequence[float],
    min_groups: int,
    max_groups: int,
    target: int,
) -> list[int]:
    """Choose groups whose count is within [min, max] and whose values sum to at least ``target``.

    Among all such combinations (found depth-first over groups ordered by value asc, weight desc,
    name asc) pick the highest total weight, then the highest total value, then the first found;
    a combination that is a strict prefix of the winner (in weight order) is preferred, as Karmada
    does. Returns group positions, best first; empty when none qualifies.
    """
    order = sorted(range(len(names)), key=lambda g: (values[g], -weights[g], names[g]))
    found: list[tuple[float, int, int, list[int]]] = []
    path: list[int] = []
    budget = [DFS_BUDGET]

    def dfs(total: int, begin: int) -> None:
        budget[0] -= 1
        if total >= target and min_groups <= len(path) <= max_groups:
            chosen = sorted(path, key=lambda g: (-weights[g], names[g]))
            found.append((sum(weights[g] for g in path), sum(values[g] for g in path), len(found), chosen))
            return
        if len(path) >= max_groups or budget[0] <= 0:
            return
        for k in range(begin, len(order)):
            path.append(order[k])
            dfs(total + values[order[k]], k + 1)
            path.pop()

    dfs(0, 0)
    if not found:
        return []
    found.sort(key=lambda f: (-f[0], -f[1], f[2]))
    best = found[0][3]
    for _, _, _, cand in found[1:]:
        if len(cand) < len(best) and best[: len(cand)] == cand:
            best = cand
    return best


def _by_cluster(ranked: Ranked, sc: SpreadConstraint, replicas: int, check_room: bool) -> Selection:
    """Karmada's selectBestClustersByCluster: the best maxGroups clusters; for divided workloads,
    while their room is short, each slot from the last is swapped in place for the first unselected
    cluster with the most room above its own. The result keeps Karmada's slot order."""
    n = len(ranked.clusters)
    if n < sc.effective_min:
        return Selection(ranked.clusters[:0], error="the number of feasible clusters is less than minGroups")
    need = min(n, sc.max_groups) if sc.max_groups else n
    chosen = np.arange(need, dtype=np.int64)
    if check_room:
        room = ranked.room.astype(np.int64)
        rest = np.arange(need, n, dtype=np.int64)
        total = int(room[chosen].sum())
        for slot in range(need - 1, -1, -1):
            if total >= replicas or rest.size == 0:
                break
            rest_room = room[rest]
            i = int(np.argmax(rest_room))  # the first of the largest, as Karmada scans
            if rest_room[i] > room[chosen[slot]]:
                total += int(rest_room[i]) - int(room[chosen[slot]])
                chosen[slot], rest[i] = rest[i], chosen[slot]
        if total < replicas:
            return Selection(ranked.clusters[:0], error=f"not enough room when selecting {need} clusters")
    return Selection(ranked.clusters[chosen])


def _by_group(
    index: FleetIndex,
    ranked: Ranked,
    group: SpreadConstraint,
    cluster: SpreadConstraint | None,
    replicas: int,
    duplicated: bool,
) -> Selection:
    col = _group_codes(index, group)
    codes = col.codes[ranked.clusters]
    members: dict[int, list[int]] = {}
    for pos, code in enumerate(codes.tolist()):
        if code >= 0:
            members.setdefault(code, []).append(pos)
    what = group.spread_by_label or group.spread_by_field or "group"
    if len(members) < group.effective_min:
        return Selection(
            ranked.clusters[:0],
            error=f"{len(members)} feasible {what} groups, fewer than minGroups {group.effective_min}",
        )
    keys = sorted(members)
    names = [col.values[k] for k in keys]
    values = [len(members[k]) for k in keys]
    cluster_min = cluster.effective_min if cluster else group.effective_min
    weights = [
        _group_score(members[k], ranked, replicas, duplicated, group.effective_min, cluster_min) for k in keys
    ]
    max_groups = group.max_groups or len(keys)
    picked = select_groups(names, values, weights, group.effective_min, max_groups, cluster_min)
    if not picked:
        return Selection(
            ranked.clusters[:0],
            error=f"no combination of {what} groups holds at least {cluster_min} clusters",
        )
    # Karmada's list order: the best cluster of each chosen group (groups best first), then the
    # other clusters of those groups by score, room and name up to the cluster maxGroups.
    chosen = [members[keys[g]][0] for g in picked]
    rest = sorted(p for g in picked for p in members[keys[g]][1:])
    limit = cluster.max_groups if cluster and cluster.max_groups else len(chosen) + len(rest)
    fill = max(0, limit - len(chosen))
    rest.sort(key=lambda p: (-float(ranked.score[p]), -int(ranked.room[p]), p))
    chosen.extend(rest[:fill])
    return Selection(ranked.clusters[np.asarray(chosen, dtype=np.int64)])


def _topology(
    index: FleetIndex, policy: PlacementPolicy, clusters: IntArray, limit: int
) -> tuple[IntArray, str]:
    """Pick clusters in rank order while every DoNotSchedule topology spread stays within maxSkew.

    At each step the best-ranked remaining cluster whose domains can grow is taken, so a cluster
    skipped early is reconsidered once other domains have caught up (as Fleet re-evaluates every
    candidate). Skew is measured over every domain that has a candidate, as in Kubernetes.
    """
    hard = [t for t in policy.topology_spread_constraints if t.when_unsatisfiable == "DoNotSchedule"]
    if not hard:
        return clusters[:limit], ""
    cols = [index.label(t.topology_key).codes[clusters].tolist() for t in hard]
    counts = [dict.fromkeys(col, 0) for col in cols]
    remaining = list(range(len(clusters)))
    picked: list[int] = []

    def fits(pos: int) -> bool:
        for t, col, cnt in zip(hard, cols, counts, strict=True):
            d = col[pos]
            if cnt[d] + 1 - min(cnt.values()) > t.max_skew:
                return False
        return True

    while remaining and len(picked) < limit:
        pos = next((p for p in remaining if fits(p)), None)
        if pos is None:
            break
        remaining.remove(pos)
        picked.append(pos)
        for col, cnt in zip(cols, counts, strict=True):
            cnt[col[pos]] += 1
    picked.sort()
    note = ""
    want = min(limit, len(clusters))
    if len(picked) < want and policy.placement_type == "PickN":
        note = f"topology spread allows {len(picked)} of {want} clusters"
    return clusters[np.asarray(picked, dtype=np.int64)], note


def select_clusters(index: FleetIndex, policy: PlacementPolicy, ranked: Ranked, replicas: int) -> Selection:
    """The selection step: spread constraints, topology spread, then the pick mode."""
    strategy = policy.replica_strategy
    clusters = ranked.clusters
    if policy.placement_type == "PickFixed":
        # Fleet's PickFixed: exactly the named clusters that can run it; no spreading, no picking.
        wanted = len(set(policy.cluster_names))
        missing = wanted - len(clusters)
        partial = f"{missing} of {wanted} fixed clusters cannot be used" if missing else ""
        if len(clusters) == 0:
            return Selection(clusters, error=partial or "no fixed cluster can be used")
        return Selection(clusters, partial=partial)
    spreads = policy.spread_constraints
    # Karmada ignores spread constraints under static weights.
    if spreads and strategy != "StaticWeight":
        cluster_sc = next((s for s in spreads if s.key == "cluster"), None)
        group_sc = next((s for s in spreads if s.key != "cluster"), None)
        duplicated = strategy == "Duplicated"
        if group_sc is not None:
            sel = _by_group(index, ranked, group_sc, cluster_sc, replicas, duplicated)
        else:
            assert cluster_sc is not None
            sel = _by_cluster(ranked, cluster_sc, replicas, check_room=not duplicated)
        if not sel.ok:
            return sel
        clusters = sel.clusters
        if policy.placement_type == "PickN" or policy.topology_spread_constraints:
            # tmc's pick modes and topology spread pick in rank order
            at = {int(c): k for k, c in enumerate(ranked.clusters.tolist())}
            clusters = clusters[np.argsort([at[int(c)] for c in clusters.tolist()], kind="stable")]
    limit = len(clusters)
    if policy.placement_type == "PickN":
        limit = min(limit, policy.number_of_clusters or 0)
    clusters, note = _topology(index, policy, clusters, limit)
    partial = note
    if policy.placement_type == "PickN" and len(clusters) < (policy.number_of_clusters or 0):
        partial = f"picked {len(clusters)} of {policy.number_of_clusters} clusters"
        if note:
            partial += f" ({note})"
    if len(clusters) == 0 and not (policy.placement_type == "PickN" and not policy.number_of_clusters):
        return Selection(clusters, error=partial or "no cluster could be selected")
    return Selection(clusters, partial=partial)
