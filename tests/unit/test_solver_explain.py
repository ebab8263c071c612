"""Solver decisions explained in the engine's terms: the decision itself is unchanged, the chosen
clusters passed the policy's filters, and the note names the solver and how replicas were divided."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads
from tmc_core.solvers import Flow, Greedy, Optimal, Problem, explain
from tmcctl.main import app


@pytest.mark.parametrize("solver", [Greedy(), Flow(), Optimal(time_limit=2)], ids=lambda s: s.name)
def test_explanations_describe_without_changing_the_decisions(solver: object) -> None:
    fleet = synthetic_fleet(12, seed=5)
    tasks = [
        t
        for t in synthetic_workloads(30, seed=6, fleet=fleet, shape="mixed", load=0.9)
        if not t.policy.cluster_affinities  # a fallback group's clusters are filtered by the first term
    ]
    solution = solver.solve(Problem.build(fleet, tasks))  # type: ignore[attr-defined]
    plain, explained = solution.decisions(), explain(solution)
    assert [d.model_copy(update={"explanation": None}) for d in explained] == [
        d.model_copy(update={"explanation": None}) for d in plain
    ]
    for d in explained:
        e = d.explanation
        assert e is not None
        chosen = {c.name for c in d.clusters}
        assert set(e.selected) == chosen
        assert not chosen & set(e.filtered)  # the solver only uses clusters the filters let through
        assert e.total_clusters == len(fleet.clusters)
        assert solution.solver in e.notes[-1] and solution.status in e.notes[-1]
        if not d.schedulable:
            assert e.shortfall


def test_cli_explains_solver_decisions() -> None:
    result = CliRunner().invoke(app, ["place", "--solver", "flow", "--explain", "-o", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records and all(
        r["explanation"]["notes"][-1].startswith("chosen by the flow solver") for r in records
    )


@pytest.mark.parametrize("solver", ["greedy", "flow"])
def test_cli_certifies_the_gap_of_a_solver_without_a_bound(solver: str) -> None:
    """Greedy and (pruned or partly greedy) flow prove no bound: the CLI adds the LP's, so the output
    carries a gap; --no-certify leaves it out."""
    runner = CliRunner()
    plain = runner.invoke(app, ["place", "--solver", solver, "--no-certify", "-o", "json"])
    assert plain.exit_code == 0, plain.output
    first = json.loads(plain.stdout)[0]["solver"]
    assert first["bound"] is None and first["gap"] is None
    result = runner.invoke(app, ["place", "--solver", solver, "-o", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)[0]["solver"]
    assert got["objective"] == first["objective"]  # the same answer, now bounded
    assert got["bound"] is not None and got["bound"] >= got["objective"]
    assert got["gap"] is not None and 0.0 <= got["gap"] < 1.0
    assert any(n.startswith("bound: LP relaxation") for n in got["notes"])
