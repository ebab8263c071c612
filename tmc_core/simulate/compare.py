"""Judge policies against each other: every policy runs on the same seeded scenario.

Because a scenario draws its fleet, workloads and events from its seed alone (one stream per event),
the runs differ only in where the policies put replicas, so their metrics compare like for like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests.inventory import Inventory
from tmc_core.model.policy import PlacementPolicy
from tmc_core.simulate.engine import Progress, Result, simulate
from tmc_core.simulate.policies import PolicyUnderTest, policy_under_test
from tmc_core.simulate.scenario import Scenario, scenario_or_builtin

__all__ = ["Comparison", "compare", "compare_all"]

PolicyLike = PolicyUnderTest | PlacementPolicy | str | None


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """The runs of several policies on one scenario, in the order the policies were given."""

    scenario: Scenario
    results: tuple[Result, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The policies' names (made unique with a ``#2`` suffix where two share one)."""
        out: list[str] = []
        for r in self.results:
            name = r.policy.name if r.policy.solver is None else f"{r.policy.name}/{r.policy.solver}"
            base, n = name, 1
            while name in out:
                n += 1
                name = f"{base}#{n}"
            out.append(name)
        return tuple(out)

    def __getitem__(self, name: str) -> Result:
        return self.results[self.names.index(name)]

    def summary_records(self) -> list[dict[str, Any]]:
        """One dict per policy: its name and every whole-run figure (``Metrics.summary``)."""
        return [{"policy": n, **r.metrics.summary()} for n, r in zip(self.names, self.results, strict=True)]

    def table(self) -> list[dict[str, Any]]:
        """One dict per figure: the figure's name and its value under each policy."""
        summaries = [r.metrics.summary() for r in self.results]
        return [
            {"metric": m, **{n: s[m] for n, s in zip(self.names, summaries, strict=True)}}
            for m in summaries[0]
        ]


def compare_all(
    policies: Sequence[PolicyLike],
    scenario: Scenario | str,
    *,
    inventory: Inventory | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run every policy on the same scenario (see ``simulate`` for the accepted spellings)."""
    if not policies:
        raise InvalidInput("give at least one policy", path="policies")
    sc = scenario_or_builtin(scenario)
    results = tuple(
        simulate(sc, policy_under_test(p), inventory=inventory, progress=progress) for p in policies
    )
    return Comparison(sc, results)


def compare(
    policy_a: PolicyLike,
    policy_b: PolicyLike,
    scenario: Scenario | str,
    *,
    inventory: Inventory | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run two policies on the same seeded scenario."""
    return compare_all([policy_a, policy_b], scenario, inventory=inventory, progress=progress)
