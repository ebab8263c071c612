"""The one objective every solver is judged by: place first, then score, then keep things still.

value = placed x replicas placed + sum(score per replica) - churn x replicas moved - cost x
sum(cost property per replica). The placed weight defaults to more than any replica's score can
add, so a solution that places more replicas always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tmc_core.placement.batch import Assignment
from tmc_core.solvers.problem import Problem

__all__ = ["Objective", "Terms"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Terms:
    """An objective's value and the parts it is made of."""

    value: float
    placed: int
    score: float
    moved: int
    cost: float


@dataclass(frozen=True, slots=True)
class Objective:
    """Weights of the objective (maximised); ``placed=None`` means "more than any score"."""

    placed: float | None = None
    churn: float = 1.0
    cost: float = 0.0
    cost_property: str = "cost"

    def placed_weight(self, problem: Problem) -> float:
        """The weight of one placed replica."""
        if self.placed is not None:
            return self.placed
        top = float(problem.score.max(initial=0.0))
        return (
            2.0 * top
            + 2.0 * self.churn
            + 2.0 * self.cost * float(np.nanmax(self.costs(problem), initial=0.0))
            + 1.0
        )

    def costs(self, problem: Problem) -> FloatArray:
        """The cost property per cluster (0 where a cluster does not declare it)."""
        values = problem.index.properties.get(self.cost_property)
        if values is None:
            return np.zeros(problem.index.size)
        return np.nan_to_num(values, nan=0.0)

    def coefficients(self, problem: Problem) -> FloatArray:
        """Per (task, candidate) entry of the problem: what one replica placed there adds."""
        costs = self.costs(problem)
        return self.placed_weight(problem) + problem.score - self.cost * costs[problem.cand_idx]

    def evaluate(self, problem: Problem, assignment: Assignment) -> Terms:
        """The objective of an assignment (in the problem's task order); replicas on clusters that
        are not a task's candidates count as placed but score nothing."""
        placed = 0
        score = 0.0
        moved = int(problem.moved_anyway.sum())
        cost = 0.0
        costs = self.costs(problem)
        for i in range(problem.size):
            lo, hi = int(assignment.offsets[i]), int(assignment.offsets[i + 1])
            clusters = assignment.clusters[lo:hi]
            reps = assignment.replicas[lo:hi]
            cand, s, cur = problem.candidates(i)
            pos = np.searchsorted(cand, clusters)
            found = (
                (pos < cand.size) & (cand[np.minimum(pos, max(cand.size - 1, 0))] == clusters)
                if cand.size
                else np.zeros(clusters.size, dtype=np.bool_)
            )
            placed += int(reps.sum())
            score += float((reps[found] * s[pos[found]]).sum())
            cost += float((reps * costs[clusters]).sum())
            now = np.zeros(cand.size, dtype=np.int64)
            now[pos[found]] = reps[found]
            moved += int(np.maximum(cur - now, 0).sum())
        value = self.placed_weight(problem) * placed + score - self.churn * moved - self.cost * cost
        return Terms(value=value, placed=placed, score=score, moved=moved, cost=cost)
