"""A batch of workloads to place together, compiled once into arrays every solver reads.

The policy's rules become, per workload, a sparse list of eligible clusters with their weighted
placement scores (the greedy engine's own filters and scores, at the batch's starting capacity; a
clusterAffinities fallback group's clusters are eligible too, scored below every earlier group's);
resource fit becomes shared capacity. Nothing here is W x C dense: a 100k x 5k batch with top-k
pruning stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.placement.batch import placement_order
from tmc_core.placement.index import FleetIndex, replicas_vector, resource_vector
from tmc_core.placement.pipeline import PolicyCache, gvk_of, term_view
from tmc_core.placement.task import PlacementTask

__all__ = ["Problem"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """Workloads (in placement order) over shared capacity, as arrays.

    Task ``i`` may use clusters ``cand_idx[cand_ptr[i]:cand_ptr[i+1]]`` (sorted), each with a score
    per replica and the replicas it runs there now. ``capacity`` (C x R) is what the batch may use:
    free capacity plus what the batch's own workloads use now. ``anti_affinity`` lists groups of task
    positions that must not share a cluster. ``twin`` (optional) names, per task, the first task with
    the same request and the same candidate entries (clusters, scores, current replicas), or the task
    itself: solvers may compute per-candidate work once per twin (``None``: every task its own).
    """

    index: FleetIndex
    tasks: tuple[PlacementTask, ...]
    requests: IntArray
    replicas: IntArray
    duplicated: BoolArray
    pick_n: IntArray
    cand_ptr: IntArray
    cand_idx: IntArray
    score: FloatArray
    current: IntArray
    moved_anyway: IntArray
    capacity: IntArray
    anti_affinity: tuple[tuple[int, ...], ...]
    twin: IntArray | None = None

    def __post_init__(self) -> None:
        if self.twin is None:
            return
        n = len(self.tasks)
        twin = np.asarray(self.twin)
        position = np.arange(n)
        if twin.shape != (n,) or not bool(((twin >= 0) & (twin <= position)).all()):
            raise InvalidInput("must give each task a task at or before it", path="twin")
        counts = np.diff(self.cand_ptr)
        if not (
            bool((twin[twin] == twin).all())
            and bool((counts[twin] == counts).all())
            and bool((self.requests[twin] == self.requests).all())
        ):
            raise InvalidInput(
                "twins must share a request and a candidate count, and name the first of their set",
                path="twin",
            )

    @property
    def size(self) -> int:
        """Number of tasks."""
        return len(self.tasks)

    def candidates(self, i: int) -> tuple[IntArray, FloatArray, IntArray]:
        """(cluster indices, scores per replica, current replicas) of task ``i``."""
        lo, hi = int(self.cand_ptr[i]), int(self.cand_ptr[i + 1])
        return self.cand_idx[lo:hi], self.score[lo:hi], self.current[lo:hi]

    def prune(self, top_k: int) -> Problem:
        """Keep each task's ``top_k`` best-scoring clusters (and every cluster it runs on now).

        Optimal answers of the pruned problem are feasible for the full one, so its objective is a
        lower bound on the full optimum; a bound certified on the pruned problem says nothing about
        clusters that were pruned away.
        """
        if top_k < 1:
            raise InvalidInput(f"must be at least 1, got {top_k}", path="top_k")
        keep = np.zeros(self.cand_idx.size, dtype=np.bool_)
        for i in range(self.size):
            lo, hi = int(self.cand_ptr[i]), int(self.cand_ptr[i + 1])
            keep[lo:hi] = _top_k_mask(self.score[lo:hi], self.current[lo:hi], top_k)
        kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
        ptr = kept[self.cand_ptr].astype(np.int64)
        return Problem(
            index=self.index,
            tasks=self.tasks,
            requests=self.requests,
            replicas=self.replicas,
            duplicated=self.duplicated,
            pick_n=self.pick_n,
            cand_ptr=ptr,
            cand_idx=self.cand_idx[keep],
            score=self.score[keep],
            current=self.current[keep],
            moved_anyway=self.moved_anyway,
            capacity=self.capacity,
            anti_affinity=self.anti_affinity,
            twin=self.twin,  # identical entries keep identical top-k
        )

    @classmethod
    def build(
        cls,
        fleet: FleetIndex | Fleet | Sequence[Cluster],
        tasks: Sequence[PlacementTask],
        *,
        anti_affinity: Iterable[Iterable[int]] = (),
        top_k: int | None = None,
    ) -> Problem:
        """Compile ``tasks`` (any order; stored in placement order) over ``fleet``.

        ``anti_affinity`` groups refer to positions in ``tasks`` as given. ``top_k`` keeps only each
        task's ``top_k`` best clusters (and those it runs on now) while compiling, the same rule as
        :meth:`prune`, so a 100k x 5k batch never holds its dense W x C eligible lists in memory.
        """
        if top_k is not None and top_k < 1:
            raise InvalidInput(f"must be at least 1, got {top_k}", path="top_k")
        asked = {r for t in tasks for r in t.workload.requests}
        if isinstance(fleet, FleetIndex) and asked <= set(fleet.resources):
            index = fleet
        else:
            base = fleet.fleet if isinstance(fleet, FleetIndex) else fleet
            index = FleetIndex.from_fleet(base, extra_resources=asked)
        order = placement_order(tasks)
        where = {k: pos for pos, k in enumerate(order)}
        ordered = tuple(tasks[k] for k in order)
        n, r_count = len(ordered), len(index.resources)
        requests = np.zeros((n, r_count), dtype=np.int64)
        capacity = index.free.copy()
        cache = PolicyCache()
        placed = np.zeros(index.size, dtype=np.int64)
        nothing = np.zeros(index.size, dtype=np.int64)
        previous_rows: list[IntArray | None] = []
        for i, task in enumerate(ordered):
            requests[i] = resource_vector(task.workload.requests, index.resources)
            if any(v > 0 for v in task.current.values()):
                prev = replicas_vector(index.position, index.size, task.current)
                capacity += prev[:, None] * requests[i][None, :]
                previous_rows.append(prev)
            else:  # most of a fresh batch: no per-task vector (100k x 5k would hold 4 GB of zeros)
                previous_rows.append(None)
        ptr = np.zeros(n + 1, dtype=np.int64)
        idx: list[IntArray] = []
        scores: list[FloatArray] = []
        current: list[IntArray] = []
        moved = np.zeros(n, dtype=np.int64)
        # A fresh task's view depends only on its policy, kind and request (``placed`` stays zero
        # here and nothing runs anywhere), so tasks sharing those share one computed view: 100k
        # tasks of 32 policies are ~4k views.
        seen: dict[tuple[int, str, bytes], tuple[IntArray, FloatArray, IntArray, int]] = {}
        twin = np.arange(n, dtype=np.int64)
        for i, task in enumerate(ordered):
            prev_i = previous_rows[i]
            key = (id(task.policy), gvk_of(task.workload), requests[i].tobytes())
            hit = seen.get(key) if prev_i is None else None
            if hit is None:
                view = term_view(
                    index,
                    task.workload,
                    task.policy,
                    free=capacity,
                    request=requests[i],
                    previous=nothing if prev_i is None else prev_i,
                    placed=placed,
                    cache=cache,
                )
                eligible = view.eligible
                # A fallback group's clusters rank below every cluster of an earlier group.
                span = float(view.score.max(initial=0.0)) + 1.0
                score = view.score - span * view.level
                cur = nothing[: eligible.size] if prev_i is None else prev_i[eligible]
                if prev_i is not None:
                    moved[i] = int(prev_i.sum() - cur.sum())
                if top_k is not None and eligible.size > top_k:
                    keep = _top_k_mask(score, cur, top_k)
                    eligible, score, cur = eligible[keep], score[keep], cur[keep]
                hit = (eligible, score, cur, i)
                if prev_i is None:
                    seen[key] = hit
            twin[i] = hit[3]
            idx.append(hit[0])
            scores.append(hit[1])
            current.append(hit[2])
            ptr[i + 1] = ptr[i] + hit[0].size
        groups = []
        for g, group in enumerate(anti_affinity):
            members = tuple(sorted(where[k] for k in group if 0 <= k < len(tasks)))
            if len(members) != len(set(group)):
                raise InvalidInput(
                    f"refers to a task that is not in the batch: {sorted(group)}", path=f"anti_affinity[{g}]"
                )
            groups.append(members)
        empty_i = np.zeros(0, dtype=np.int64)
        return cls(
            index=index,
            tasks=ordered,
            requests=requests,
            replicas=np.array([t.workload.replicas for t in ordered], dtype=np.int64),
            duplicated=np.array([t.policy.replica_strategy == "Duplicated" for t in ordered], dtype=np.bool_),
            pick_n=np.array(
                [
                    (t.policy.number_of_clusters or 0) if t.policy.placement_type == "PickN" else -1
                    for t in ordered
                ],
                dtype=np.int64,
            ),
            cand_ptr=ptr,
            cand_idx=np.concatenate(idx) if idx else empty_i,
            score=np.concatenate(scores) if scores else np.zeros(0),
            current=np.concatenate(current) if current else empty_i,
            moved_anyway=moved,
            capacity=capacity,
            anti_affinity=tuple(groups),
            twin=twin,
        )


def _top_k_mask(score: FloatArray, current: IntArray, top_k: int) -> BoolArray:
    """The ``top_k`` best scores (ties to the lower position) plus every entry in use now."""
    if score.size <= top_k:
        return np.ones(score.size, dtype=np.bool_)
    keep = current > 0
    keep[np.argsort(-score, kind="stable")[:top_k]] = True
    return keep
