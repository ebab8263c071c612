"""An independent check of an assignment against a problem's constraints.

Written from the problem's arrays and the policies alone, sharing nothing with any solver's model,
so that a solver cannot pass by agreeing with itself.
"""

from __future__ import annotations

import numpy as np

from tmc_core.placement.batch import Assignment
from tmc_core.solvers.problem import Problem

__all__ = ["violations"]


def violations(problem: Problem, assignment: Assignment) -> list[str]:
    """Every broken constraint, in words (empty when the assignment is valid)."""
    out: list[str] = []
    if len(assignment) != problem.size:
        return [f"assignment has {len(assignment)} tasks, the problem {problem.size}"]
    used = np.zeros_like(problem.capacity)
    holder: dict[tuple[int, int], int] = {}
    group_of: dict[int, int] = {}
    for g, members in enumerate(problem.anti_affinity):
        for m in members:
            group_of[m] = g
    names = problem.index.names
    for i, task in enumerate(problem.tasks):
        key = task.workload.key
        lo, hi = int(assignment.offsets[i]), int(assignment.offsets[i + 1])
        clusters = assignment.clusters[lo:hi].tolist()
        reps = assignment.replicas[lo:hi].tolist()
        cand = set(problem.candidates(i)[0].tolist())
        for c, n in zip(clusters, reps, strict=True):
            if n < 0:
                out.append(f"{key}: negative replicas on {names[c]}")
            if c not in cand:
                out.append(f"{key}: {names[c]} is not allowed by its policy")
            used[c] += n * problem.requests[i]
            group = group_of.get(i)
            if group is not None and n > 0:
                clash = holder.get((group, c))
                if clash is not None and clash != i:
                    out.append(
                        f"{key}: shares {names[c]} with {problem.tasks[clash].workload.key} (anti-affinity)"
                    )
                holder[(group, c)] = i
        if len(set(clusters)) != len(clusters):
            out.append(f"{key}: a cluster is listed twice")
        total = problem.replicas[i]
        if assignment.schedulable[i]:
            if problem.duplicated[i]:
                if any(n != total for n in reps):
                    out.append(f"{key}: duplicated replicas differ from {total}")
            elif sum(reps) != total:
                out.append(f"{key}: {sum(reps)} replicas placed, {total} wanted")
        elif problem.duplicated[i]:
            if any(n > total for n in reps):
                out.append(f"{key}: more than its {total} replicas on one cluster (unschedulable)")
        elif sum(reps) > total:
            out.append(f"{key}: {sum(reps)} replicas placed, at most {total} wanted (unschedulable)")
        n_used = sum(1 for n in reps if n > 0) if not problem.duplicated[i] else len(reps)
        if problem.pick_n[i] >= 0 and n_used > problem.pick_n[i]:
            out.append(f"{key}: {n_used} clusters, numberOfClusters is {problem.pick_n[i]}")
        if assignment.schedulable[i] and task.policy.replica_strategy != "StaticWeight":
            chosen = [c for c, n in zip(clusters, reps, strict=True) if n > 0 or problem.duplicated[i]]
            for sc in task.policy.spread_constraints:
                if sc.key == "cluster":
                    groups = len(set(chosen))
                elif sc.spread_by_label:
                    col = problem.index.label(sc.spread_by_label)
                    groups = len({int(col.codes[c]) for c in chosen})
                else:
                    col = problem.index.fields[sc.spread_by_field or ""]
                    groups = len({int(col.codes[c]) for c in chosen})
                if sc.max_groups and groups > sc.max_groups:
                    out.append(f"{key}: {groups} {sc.key} groups, maxGroups is {sc.max_groups}")
    over = np.argwhere(used > problem.capacity)
    for c, r in over.tolist():
        res = problem.index.resources[r]
        out.append(f"{names[c]}: {res} used {int(used[c, r])} > capacity {int(problem.capacity[c, r])}")
    return out
