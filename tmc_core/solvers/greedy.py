"""The greedy solver: the placement engine itself, behind the solver contract."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tmc_core.placement.batch import DEFAULT_BATCH_SIZE, Assignment, assign_batch
from tmc_core.solvers.objective import Objective
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution

__all__ = ["Greedy", "drop_tasks", "keep_anti_affinity", "keep_candidates"]


def drop_tasks(assignment: Assignment, drop: dict[int, str]) -> Assignment:
    """The assignment with tasks ``drop`` placed nowhere and reported unschedulable with a reason."""
    keep = np.ones(assignment.clusters.size, dtype=np.bool_)
    counts = np.diff(assignment.offsets)
    for i in drop:
        keep[int(assignment.offsets[i]) : int(assignment.offsets[i + 1])] = False
        counts[i] = 0
    schedulable = assignment.schedulable.copy()
    reasons = list(assignment.reasons)
    for i, why in drop.items():
        schedulable[i] = False
        reasons[i] = why
    return Assignment(
        cluster_names=assignment.cluster_names,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        clusters=assignment.clusters[keep],
        replicas=assignment.replicas[keep],
        schedulable=schedulable,
        reasons=tuple(reasons),
        explanations=assignment.explanations,
    )


def keep_anti_affinity(problem: Problem, assignment: Assignment, tasks: Iterable[int]) -> Assignment:
    """Drop each anti-affinity member that landed on a cluster an earlier member holds.

    ``assignment`` covers the problem tasks ``tasks`` (in that order); a member not among them is
    ignored. Dropped tasks are reported unschedulable with the reason.
    """
    local = {int(g): k for k, g in enumerate(tasks)}
    drop: dict[int, str] = {}
    for members in problem.anti_affinity:
        taken: dict[int, int] = {}
        for i in members:
            k = local.get(i)
            if k is None:
                continue
            lo, hi = int(assignment.offsets[k]), int(assignment.offsets[k + 1])
            clusters = assignment.clusters[lo:hi][assignment.replicas[lo:hi] > 0].tolist()
            clash = [c for c in clusters if c in taken]
            if clash:
                other = problem.tasks[taken[clash[0]]].workload.key
                drop[k] = f"anti-affinity: {problem.index.names[clash[0]]} already runs {other}"
                continue
            for c in clusters:
                taken[c] = i
    return drop_tasks(assignment, drop) if drop else assignment


def keep_candidates(
    problem: Problem, assignment: Assignment, tasks: Iterable[int] | None = None
) -> Assignment:
    """Drop each task the engine placed on a cluster outside the task's candidates.

    The engine places over the whole fleet; a problem built with ``top_k`` (or ``prune``d) allows
    only each task's candidate pool, so an engine answer that leaves the pool is not a solution of
    that problem. Such tasks are reported unschedulable with the reason (none on an unpruned problem:
    the engine only uses clusters its filters pass, and those are the candidates). ``assignment``
    covers the problem tasks ``tasks`` (in that order; default: all of them).
    """
    task_of = np.arange(problem.size) if tasks is None else np.fromiter(tasks, dtype=np.int64)
    counts = np.diff(assignment.offsets)
    size = problem.index.size
    # (task, cluster) keys; a problem's candidate keys are sorted (clusters sorted within each task)
    keys = np.repeat(task_of, counts) * size + assignment.clusters
    allowed = np.repeat(np.arange(problem.size), np.diff(problem.cand_ptr)) * size + problem.cand_idx
    pos = np.minimum(np.searchsorted(allowed, keys), max(allowed.size - 1, 0))
    inside = (allowed[pos] == keys) if allowed.size else np.zeros(keys.size, dtype=np.bool_)
    local = np.repeat(np.arange(task_of.size), counts)
    drop: dict[int, str] = {}
    for e in np.flatnonzero(~inside).tolist():
        drop.setdefault(
            int(local[e]),
            f"the engine placed it on {problem.index.names[int(assignment.clusters[e])]}, outside this "
            "problem's candidates (pruned with top_k)",
        )
    return drop_tasks(assignment, drop) if drop else assignment


@dataclass(frozen=True)
class Greedy:
    """Sequential (or batched) greedy placement: fast, deterministic, myopic.

    Anti-affinity groups are honoured by dropping a later member that landed on a cluster an earlier
    member holds (it is reported unschedulable); the optimal solver would place it elsewhere. On a
    pruned problem, a workload the engine placed outside its candidate pool is dropped the same way
    (:func:`keep_candidates`).
    """

    mode: Literal["sequential", "batched"] = "sequential"
    batch_size: int = DEFAULT_BATCH_SIZE
    objective: Objective = field(default_factory=Objective)
    name: str = "greedy"

    def solve(self, problem: Problem) -> Solution:
        """Place the problem's tasks with the engine and score the result."""
        start = time.perf_counter()
        assignment = assign_batch(problem.index, problem.tasks, mode=self.mode, batch_size=self.batch_size)
        assignment = keep_anti_affinity(problem, assignment, range(problem.size))
        assignment = keep_candidates(problem, assignment)
        terms = self.objective.evaluate(problem, assignment)
        return Solution(
            solver=self.name,
            status="FEASIBLE",
            problem=problem,
            assignment=assignment,
            objective=terms.value,
            seconds=time.perf_counter() - start,
        )
