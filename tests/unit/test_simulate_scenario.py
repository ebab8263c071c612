"""Scenarios and policies under test: YAML in, frozen values out, bad input named to the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tmc_core.errors import InvalidInput
from tmc_core.simulate import (
    POLICY_NAMES,
    SCENARIO_NAMES,
    ClustersFail,
    Scenario,
    builtin_scenario,
    load_policy,
    load_scenario,
    named_policy,
    simulate,
)
from tmc_core.simulate.engine import expand_traffic

SCENARIO = """\
name: drill
seed: 9
duration: 900
step: 100
gracePeriod: 20
fleet: {clusters: 10, providers: 2, regionsPerProvider: 2, zonesPerRegion: 1, utilisation: [0.1, 0.2]}
workloads: {count: 12, shape: divided, policies: 3, load: 0.4}
traffic: {arrivalsPerHour: 8}
events:
  - {at: 100, type: fail, target: {largest: region}}
  - {at: 500, type: capacity, target: {zone: us-east-1a, count: 1}, factor: 0.5}
  - {at: 600, type: leave, fraction: 0.25}
"""


def test_yaml_scenario_reads_every_part() -> None:
    sc = load_scenario(SCENARIO, source="drill.yaml")
    assert (sc.name, sc.seed, sc.duration, sc.step, sc.grace_period) == ("drill", 9, 900, 100, 20)
    assert (sc.fleet.clusters, sc.fleet.utilisation, sc.workloads.count) == (10, (0.1, 0.2), 12)
    assert [e.type for e in sc.events] == ["fail", "capacity", "leave"]
    assert isinstance(sc.events[0], ClustersFail) and sc.events[0].target.largest == "region"
    assert sc.sample_times == tuple(float(t) for t in range(0, 901, 100))
    with pytest.raises(ValidationError):
        sc.seed = 3  # type: ignore[misc]


def test_yaml_round_trip() -> None:
    sc = load_scenario(SCENARIO)
    import yaml

    assert load_scenario(yaml.safe_dump(sc.dump())) == sc


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("duration: -5", "duration"),
        ("events: [{at: 10, type: explode}]", "events[0]"),
        ("events: [{at: 10, type: fail}]", "events[0].fail.target"),
        ("events: [{at: 99999, type: join}]", "events[0].at"),
        ("events: [{at: 10, type: leave}]", "events[0].leave.count"),
        ("fleet: {utilisation: [0.8, 0.2]}", "fleet.utilisation"),
        ("step: 0.001", "step"),
        ("surprise: 1", "surprise"),
        ("[1, 2]", "a scenario must be a mapping"),
        ("name: [unclosed", "line 1"),
    ],
)
def test_bad_scenario_names_the_field(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        load_scenario(text, source="bad.yaml")
    line = str(info.value)
    assert "\n" not in line and line.startswith("bad.yaml: ")
    assert where in line


def test_builtins_are_small_and_distinct() -> None:
    for name in SCENARIO_NAMES:
        sc = builtin_scenario(name)
        assert sc.name == name and sc.description
        assert sc.fleet.clusters <= 50 and sc.workloads.count <= 100
    assert len({builtin_scenario(n).model_dump_json() for n in SCENARIO_NAMES}) == len(SCENARIO_NAMES)
    with pytest.raises(InvalidInput, match="unknown scenario 'x'"):
        builtin_scenario("x")


def test_scaled_changes_only_sizes() -> None:
    sc = builtin_scenario("drain")
    big = sc.scaled(clusters=200, workloads=800)
    assert (big.fleet.clusters, big.workloads.count) == (200, 800)
    assert big.events == sc.events and big.seed == sc.seed


def test_traffic_is_seeded_and_sorted() -> None:
    sc = load_scenario(SCENARIO)
    events = expand_traffic(sc)
    assert events == expand_traffic(sc)
    assert [e.at for e in events] == sorted(e.at for e in events)
    arrivals = [e for e in events if e.type == "arrive"]
    assert arrivals and all(e.at <= sc.duration for e in arrivals)
    other = expand_traffic(sc.model_copy(update={"seed": 10}))
    assert [e.at for e in other] != [e.at for e in events]


def test_policies_from_yaml_and_by_name() -> None:
    p = load_policy(
        "name: mine\nsolver: flow\ntimeLimit: 2\nplacement:\n  placementType: PickN\n  numberOfClusters: 2\n"
    )
    assert (p.name, p.solver, p.time_limit) == ("mine", "flow", 2.0)
    assert p.placement is not None and p.placement.number_of_clusters == 2
    wp = load_policy(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: web}\n"
        "spec: {placement: {placementType: PickAll}}\n"
    )
    assert wp.name == "web" and wp.placement is not None and wp.placement.placement_type == "PickAll"
    assert set(POLICY_NAMES) == {"scenario", "spread", "bin-packing", "cost-aware"}
    assert named_policy("scenario").placement is None


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("placement: {placementType: PickN}", "placement.numberOfClusters"),
        ("solver: magic", "solver"),
        ("timeLimit: -1", "timeLimit"),
        ("colour: red", "colour"),
        (
            "kind: WorkloadPlacement\nmetadata: {name: w}\nspec: {placement: {placementType: Nope}}",
            "spec.placement",
        ),
    ],
)
def test_bad_policy_names_the_field(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        load_policy(text, source="p.yaml")
    assert str(info.value).startswith("p.yaml: ") and where in str(info.value)


def test_event_at_the_same_moment_as_grace_expiry() -> None:
    """A zero grace period: the failure is noticed in the same moment it happens."""
    sc = Scenario(seed=1, duration=120, step=60, grace_period=0,
                  events=(ClustersFail(at=60, target={"largest": "region"}),))  # type: ignore[arg-type]  # fmt: skip
    result = simulate(sc, "spread")
    kinds = [(e.time, e.event) for e in result.trace.events]
    assert (60.0, "fail") in kinds and (60.0, "not-ready") in kinds
    assert result.metrics.lost.max() == 0


def test_docs_examples_read() -> None:
    """The scenario and policy files shown in docs/simulation.md are valid."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulation.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```yaml\n")[1:]]
    scenario, policy = blocks
    sc = load_scenario(scenario, source="docs")
    assert sc.name == "region-drill" and [e.type for e in sc.events] == ["fail", "scale", "recover"]
    assert load_policy(policy, source="docs").solver == "flow"
