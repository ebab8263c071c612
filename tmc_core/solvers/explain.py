"""Explanations for a solver's decisions, in the engine's own terms.

A batch solver chooses clusters for all workloads at once, so no single-workload pipeline run produced
its answer. What can still be said per workload, and is said here: which clusters the policy's filters
removed and why, how the remaining ones scored (every plugin, 0..100), both at the batch's starting
capacity; which clusters the solver chose; and a note naming the solver, its status and gap, and how
replicas were divided (by the batch objective, not the policy's division rule).
"""

from __future__ import annotations

import numpy as np

from tmc_core.model.decision import Decision, Explanation
from tmc_core.placement.index import replicas_vector
from tmc_core.placement.pipeline import PolicyCache, place_workload
from tmc_core.solvers.solution import Solution

__all__ = ["explain"]


def _note(solution: Solution, duplicated: bool) -> str:
    gap = solution.gap
    quality = f"{solution.status}, gap {gap:.3%}" if gap is not None else f"{solution.status}, no bound"
    how = (
        "every chosen cluster runs all replicas" if duplicated else "replicas divided by the batch objective"
    )
    return (
        f"chosen by the {solution.solver} solver together with the whole batch ({quality}); {how}; "
        "filters and scores are the engine's at the batch's starting capacity"
    )


def explain(solution: Solution) -> tuple[Decision, ...]:
    """``solution.decisions()`` with an :class:`Explanation` on each (problem order)."""
    p = solution.problem
    index = p.index
    cache = PolicyCache()
    placed = np.zeros(index.size, dtype=np.int64)
    out: list[Decision] = []
    for i, (task, decision) in enumerate(zip(p.tasks, solution.decisions(), strict=True)):
        previous = replicas_vector(index.position, index.size, task.current)
        engine = place_workload(
            index,
            task.workload,
            task.policy,
            free=p.capacity,
            request=p.requests[i],
            previous=previous,
            placed=placed,
            cache=cache,
            explain=True,
        ).explanation
        base = engine if engine is not None else Explanation(total_clusters=index.size)
        chosen = tuple(sorted(c.name for c in decision.clusters))
        update: dict[str, object] = {
            "selected": chosen,
            "notes": (*base.notes, _note(solution, bool(p.duplicated[i]))),
        }
        if not decision.schedulable:
            update["shortfall"] = decision.reason or base.shortfall
        out.append(decision.model_copy(update={"explanation": base.model_copy(update=update)}))
    return tuple(out)
