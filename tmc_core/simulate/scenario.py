"""Scenarios: a seeded fleet, its workloads and a timeline of events, as frozen values.

A scenario is data: read one from YAML text (``load_scenario``) or take a built-in by name
(``builtin_scenario``: steady, region-failure, scale-burst, drain). The same scenario and seed always
produce the same fleet, workloads and events, so two policies can be judged on exactly the same run.

YAML shape (camelCase, unknown fields rejected)::

    name: region-failure
    seed: 7
    duration: 3600          # simulated seconds
    step: 60                # one metrics sample every step seconds
    gracePeriod: 40         # missed heartbeats for this long -> NotReady, replicas rescheduled
    fleet: {clusters: 24, providers: 3, regionsPerProvider: 2, zonesPerRegion: 2}
    workloads: {count: 60, shape: divided, policies: 8, load: 0.5}
    traffic: {arrivalsPerHour: 6, departuresPerHour: 6}
    events:
      - {at: 600, type: fail, target: {largest: region}}
      - {at: 2400, type: recover, target: {largest: region}}
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from pydantic import Field, model_validator

from tmc_core.errors import InvalidInput
from tmc_core.model.base import Value, field_error
from tmc_core.model.validation import parse_value
from tmc_core.simulate.events import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    ClustersJoin,
    ClustersRecover,
    Event,
    HeartbeatsStop,
    Target,
    WorkloadsArrive,
    WorkloadsLeave,
    WorkloadsScale,
)
from tmc_core.simulate.generate import Shape

__all__ = [
    "MAX_SAMPLES",
    "SCENARIO_NAMES",
    "FleetSpec",
    "Scenario",
    "Traffic",
    "WorkloadSpec",
    "builtin_scenario",
    "load_scenario",
    "scenario_or_builtin",
]

MAX_SAMPLES: Final = 100_000
"""duration / step may not exceed this (the metrics arrays have one row per sample)."""


class FleetSpec(Value):
    """Arguments of ``synthetic_fleet`` for the scenario's starting fleet (and joining clusters)."""

    clusters: int = Field(default=24, ge=1, le=100_000)
    providers: int = Field(default=3, ge=1)
    regions_per_provider: int = Field(default=2, ge=1)
    zones_per_region: int = Field(default=2, ge=1)
    utilisation: tuple[float, float] = (0.1, 0.3)
    """Background use already on the clusters (drawn per cluster between the two fractions)."""
    taint_fraction: float = Field(default=0.1, ge=0, le=1)
    not_ready_fraction: float = Field(default=0.0, ge=0, le=1)
    gpu_fraction: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> FleetSpec:
        lo, hi = self.utilisation
        if not (0 <= lo <= hi <= 1):
            raise field_error("utilisation", f"expected 0 <= low <= high <= 1, got [{lo}, {hi}]")
        return self


class WorkloadSpec(Value):
    """Arguments of ``synthetic_workloads`` for the starting workloads (and arrivals)."""

    count: int = Field(default=60, ge=0, le=1_000_000)
    shape: Shape = "divided"
    policies: int = Field(default=8, ge=1)
    load: float = Field(default=0.5, gt=0, allow_inf_nan=False)
    """Expected CPU demand of the starting workloads as a fraction of the fleet's free CPU."""
    namespaces: int = Field(default=6, ge=1)


class Traffic(Value):
    """Background churn: Poisson arrivals and departures of single workloads (per simulated hour)."""

    arrivals_per_hour: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    departures_per_hour: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class Scenario(Value):
    """A complete, seeded simulation input (everything but the policy under test)."""

    name: str = "custom"
    description: str = ""
    seed: int = 0
    duration: float = Field(default=3600.0, gt=0, allow_inf_nan=False)
    step: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    grace_period: float = Field(default=40.0, ge=0, allow_inf_nan=False)
    fleet: FleetSpec = Field(default_factory=FleetSpec)
    workloads: WorkloadSpec = Field(default_factory=WorkloadSpec)
    traffic: Traffic = Field(default_factory=Traffic)
    events: tuple[Event, ...] = ()

    @model_validator(mode="after")
    def _fits(self) -> Scenario:
        if self.duration / self.step > MAX_SAMPLES:
            raise field_error("step", f"duration / step must be at most {MAX_SAMPLES} samples")
        for i, e in enumerate(self.events):
            if e.at > self.duration:
                raise field_error(f"events[{i}].at", f"{e.at} is after the end of the run ({self.duration})")
        return self

    @property
    def sample_times(self) -> tuple[float, ...]:
        """0, step, 2*step, ... up to and including the duration."""
        count = int(self.duration // self.step)
        times = [k * self.step for k in range(count + 1)]
        if times[-1] < self.duration:
            times.append(self.duration)
        return tuple(times)

    def scaled(self, *, clusters: int | None = None, workloads: int | None = None) -> Scenario:
        """The same scenario over a bigger (or smaller) fleet or workload set; events unchanged."""
        fleet = self.fleet if clusters is None else self.fleet.model_copy(update={"clusters": clusters})
        wl = self.workloads if workloads is None else self.workloads.model_copy(update={"count": workloads})
        return parse_value(Scenario, {**self.dump(), "fleet": fleet.dump(), "workloads": wl.dump()})


def load_scenario(text: str, *, source: str = "") -> Scenario:
    """A scenario from YAML (or JSON) text; ``InvalidInput`` naming the field on any problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise InvalidInput(f"{where}{problem}", source=source) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            f"a scenario must be a mapping, got {type(data).__name__}", source=source, obj="Scenario"
        )
    name = data.get("name")
    obj = f"Scenario {name}" if isinstance(name, str) and name else "Scenario"
    return parse_value(Scenario, data, source=source, obj=obj)


_LARGEST_REGION = Target(largest="region")

_BUILTIN: Final[dict[str, Scenario]] = {
    "steady": Scenario(
        name="steady",
        description="A quiet hour: workloads come and go at a steady rate, a few scale.",
        seed=1,
        traffic=Traffic(arrivals_per_hour=12, departures_per_hour=12),
        events=(
            WorkloadsScale(at=1200, factor=1.5, fraction=0.2),
            WorkloadsScale(at=2400, factor=0.7, fraction=0.2),
        ),
    ),
    "region-failure": Scenario(
        name="region-failure",
        description="The largest region fails at 10 minutes and comes back at 40.",
        seed=2,
        events=(
            ClustersFail(at=600, target=_LARGEST_REGION),
            ClustersRecover(at=2400, target=_LARGEST_REGION),
        ),
    ),
    "scale-burst": Scenario(
        name="scale-burst",
        description="Half the workloads triple, a burst of arrivals, then the burst subsides.",
        seed=3,
        events=(
            WorkloadsScale(at=600, factor=3.0, fraction=0.5),
            WorkloadsArrive(at=1200, count=30),
            WorkloadsLeave(at=2400, count=30),
            WorkloadsScale(at=2700, factor=0.4, fraction=0.5),
        ),
    ),
    "drain": Scenario(
        name="drain",
        description="A rolling drain of three clusters, a zone loses capacity, one cluster goes "
        "silent, new clusters join.",
        seed=4,
        events=(
            ClustersDrain(at=600, target=Target(count=1)),
            ClustersDrain(at=900, target=Target(count=1)),
            ClustersDrain(at=1200, target=Target(count=1)),
            CapacityChange(at=1800, target=Target(largest="zone"), factor=0.5),
            HeartbeatsStop(at=2400, target=Target(count=1)),
            ClustersJoin(at=3000, count=4),
        ),
    ),
}

SCENARIO_NAMES: Final = tuple(_BUILTIN)


def builtin_scenario(name: str) -> Scenario:
    """A named built-in scenario (small defaults: 24 clusters, 60 workloads, one simulated hour)."""
    found = _BUILTIN.get(name)
    if found is None:
        raise InvalidInput(
            f"unknown scenario {name!r}: expected a file or one of {', '.join(SCENARIO_NAMES)}",
            path="scenario",
        )
    return found


def scenario_or_builtin(scenario: Scenario | str) -> Scenario:
    """The scenario itself, or the built-in of that name."""
    return builtin_scenario(scenario) if isinstance(scenario, str) else scenario
