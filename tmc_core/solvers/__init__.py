"""Solvers behind one contract: greedy (the engine), and the batch optimisers built on the same
problem arrays, each judged by the same objective and checked by the same validator."""

from tmc_core.solvers.greedy import Greedy
from tmc_core.solvers.objective import Objective, Terms
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Solver, Status
from tmc_core.solvers.validate import violations

__all__ = ["Greedy", "Objective", "Problem", "Solution", "Solver", "Status", "Terms", "violations"]
