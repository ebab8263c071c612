"""The policy under test: which placement policy every workload gets, and which solver places them.

A simulation judges one ``PolicyUnderTest``. Its ``placement`` replaces each workload's own policy
(``None`` keeps the scenario's), and ``solver`` names a batch solver from ``tmc_core.solvers``
(``None`` = the greedy engine, as the controller runs it). Three named policies make a quick
comparison: ``spread`` (at least two regions, least allocated clusters first), ``bin-packing`` (the
fewest, fullest clusters that fit, at most eight) and ``cost-aware`` (the cheapest clusters that fit,
at most eight); ``scenario`` keeps the scenario's own policies.

Policy files are YAML: either ``{name, solver, placement}`` with ``placement`` in the Karmada
vocabulary of a WorkloadPlacement's ``spec.placement``, or a whole WorkloadPlacement manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import yaml

from tmc_core.errors import InvalidInput
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.validation import parse_value
from tmc_core.solvers.catalog import SOLVER_NAMES

__all__ = ["POLICY_NAMES", "PolicyUnderTest", "load_policy", "named_policy", "policy_under_test"]


@dataclass(frozen=True, slots=True)
class PolicyUnderTest:
    """A placement policy for every workload (or ``None``: keep theirs) and the solver that places."""

    name: str
    placement: PlacementPolicy | None = None
    solver: str | None = None
    time_limit: float | None = None
    """Seconds a time-limited solver (optimal) may search per re-placement."""

    def __post_init__(self) -> None:
        if self.solver is not None and self.solver not in SOLVER_NAMES:
            raise InvalidInput(
                f"unknown solver {self.solver!r}: expected one of {', '.join(SOLVER_NAMES)}", path="solver"
            )


def _policy(data: dict[str, Any]) -> PlacementPolicy:
    return PlacementPolicy.model_validate(data)


_DIVIDED_BY_ROOM: Final = {
    "replicaSchedulingType": "Divided",
    "replicaDivisionPreference": "Weighted",
    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
}
_AGGREGATED: Final = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}
# Karmada selects clusters by score only under a spread constraint (PickAll takes every cluster, and
# division itself reads free room, not scores): at most eight clusters, the best-scored that fit.
_FEW_CLUSTERS: Final = [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 8}]

_NAMED: Final[dict[str, PolicyUnderTest]] = {
    "scenario": PolicyUnderTest("scenario"),
    "spread": PolicyUnderTest(
        "spread",
        _policy(
            {
                "spreadConstraints": [
                    {"spreadByField": "region", "minGroups": 2},
                    {"spreadByField": "cluster", "minGroups": 2},
                ],
                "replicaScheduling": _DIVIDED_BY_ROOM,
                "prioritizers": [
                    {"name": "LeastAllocated", "weight": 2},
                    {"name": "Balance", "weight": 1},
                    {"name": "Steady", "weight": 1},
                ],
            }
        ),
    ),
    "bin-packing": PolicyUnderTest(
        "bin-packing",
        _policy(
            {
                "spreadConstraints": _FEW_CLUSTERS,
                "replicaScheduling": _AGGREGATED,
                "prioritizers": [{"name": "MostAllocated", "weight": 3}, {"name": "Steady", "weight": 1}],
            }
        ),
    ),
    "cost-aware": PolicyUnderTest(
        "cost-aware",
        _policy(
            {
                "spreadConstraints": _FEW_CLUSTERS,
                "replicaScheduling": _AGGREGATED,
                "prioritizers": [
                    {"name": "ClusterProperty", "property": "cost", "prefer": "Lower", "weight": 4},
                    {"name": "MostAllocated", "weight": 1},
                    {"name": "Steady", "weight": 1},
                ],
            }
        ),
    ),
}

POLICY_NAMES: Final = tuple(_NAMED)


def named_policy(name: str) -> PolicyUnderTest:
    """A named policy under test: scenario, spread, bin-packing or cost-aware."""
    found = _NAMED.get(name)
    if found is None:
        raise InvalidInput(
            f"unknown policy {name!r}: expected a file or one of {', '.join(POLICY_NAMES)}", path="policy"
        )
    return found


def policy_under_test(policy: PolicyUnderTest | PlacementPolicy | str | None) -> PolicyUnderTest:
    """Any accepted spelling of a policy under test: the value, a bare placement policy, a name, or
    ``None`` (the scenario's own policies)."""
    if policy is None:
        return _NAMED["scenario"]
    if isinstance(policy, str):
        return named_policy(policy)
    if isinstance(policy, PlacementPolicy):
        return PolicyUnderTest("custom", policy)
    return policy


def load_policy(text: str, *, source: str = "", name: str = "") -> PolicyUnderTest:
    """A policy under test from YAML text (see the module docstring); ``name`` is the fallback name."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InvalidInput(
            f"{where}{getattr(err, 'problem', None) or 'not valid YAML'}", source=source
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"a policy must be a mapping, got {type(data).__name__}", source=source)
    if data.get("kind") == "WorkloadPlacement":
        meta: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
        spec: dict[str, Any] = data["spec"] if isinstance(data.get("spec"), dict) else {}
        obj = f"WorkloadPlacement {meta.get('name', '')}".strip()
        spec_placement = parse_value(
            PlacementPolicy, spec.get("placement", {}), path="spec.placement", obj=obj, source=source
        )
        return PolicyUnderTest(str(meta.get("name") or name or "custom"), spec_placement)
    unknown = sorted(set(data) - {"name", "solver", "timeLimit", "placement"})
    if unknown:
        raise InvalidInput(
            "unknown field (expected name, solver, timeLimit, placement)", path=str(unknown[0]), source=source
        )
    placement_data = data.get("placement")
    placement = (
        None
        if placement_data is None
        else parse_value(PlacementPolicy, placement_data, path="placement", source=source)
    )
    solver = data.get("solver")
    if solver is not None and not isinstance(solver, str):
        raise InvalidInput(f"expected a solver name, got {solver!r}", path="solver", source=source)
    limit = data.get("timeLimit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0):
        raise InvalidInput(f"expected a positive number of seconds, got {limit!r}", path="timeLimit",
                           source=source)  # fmt: skip
    try:
        return PolicyUnderTest(
            str(data.get("name") or name or "custom"),
            placement,
            solver,
            None if limit is None else float(limit),
        )
    except InvalidInput as err:
        raise err.within(source=source) from None
