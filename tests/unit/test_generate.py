"""The synthetic fleet/workload generators: seeded, sized as asked, valid, and placeable."""

from __future__ import annotations

from typing import Any

import pytest

from tmc_core.errors import InvalidInput
from tmc_core.model import Fleet, PlacementPolicy
from tmc_core.placement.batch import PlacementTask, place_batch
from tmc_core.simulate import (
    SHAPES,
    Shape,
    synthetic_fleet,
    synthetic_policies,
    synthetic_workloads,
    topology,
)
from tmc_core.simulate.generate import GPU, GPU_TAINT

SCORE_FACTORS = {
    "LeastAllocated",
    "BalancedAllocation",
    "ClusterProperty",
    "PreferredAffinity",
    "TaintPreference",
    "Steady",
    "Balance",
}


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return synthetic_fleet(40, seed=7)


def _dumps(tasks: list[PlacementTask]) -> list[tuple[Any, ...]]:
    return [(t.workload.dump(), t.policy.dump(), t.placement) for t in tasks]


# -- fleets --------------------------------------------------------------------------------------


def test_fleet_is_deterministic_per_seed() -> None:
    assert synthetic_fleet(30, seed=1) == synthetic_fleet(30, seed=1)
    assert synthetic_fleet(30, seed=1).dump() == synthetic_fleet(30, seed=1).dump()


def test_fleet_differs_between_seeds() -> None:
    assert synthetic_fleet(30, seed=1) != synthetic_fleet(30, seed=2)


@pytest.mark.parametrize("n", [0, 1, 9, 57])
def test_fleet_size_and_unique_names(n: int) -> None:
    fleet = synthetic_fleet(n, seed=3)
    assert len(fleet) == n
    assert len(set(fleet.names)) == n


def test_fleet_contents_are_realistic() -> None:
    fleet = synthetic_fleet(400, seed=5, taint_fraction=0.2, not_ready_fraction=0.05, gpu_fraction=0.05)
    topo = topology()
    for c in fleet.clusters:
        assert c.provider in topo.providers
        assert c.region in topo.regions[c.provider]
        assert c.zone in topo.zones[c.region]
        assert {"env", "tier", "topology.kubernetes.io/region", "topology.kubernetes.io/zone"} <= set(
            c.labels
        )
        assert c.labels["env"] in {"prod", "staging", "dev"}
        assert {"cost", "latencyMs"} == set(c.properties)
        assert c.properties["cost"] > 0 and c.properties["latencyMs"] >= 1
        assert {"cpu", "memory", "pods", "ephemeral-storage"} <= set(c.allocatable)
        # allocated never exceeds allocatable
        assert c.free == c.allocatable - c.allocated
        assert all(q.sign() >= 0 for q in c.free.values())
        if GPU in c.allocatable:
            assert GPU_TAINT in c.taints and c.labels["accelerator"] == "nvidia"
    tainted = sum(1 for c in fleet.clusters if c.taints and GPU not in c.allocatable)
    not_ready = sum(1 for c in fleet.clusters if not c.ready)
    gpus = sum(1 for c in fleet.clusters if GPU in c.allocatable)
    assert 40 <= tainted <= 130
    assert 5 <= not_ready <= 40
    assert 5 <= gpus <= 40
    assert len({c.provider for c in fleet.clusters}) == 3


def test_fleet_options() -> None:
    fleet = synthetic_fleet(
        60,
        seed=4,
        providers=5,
        regions_per_provider=10,
        zones_per_region=2,
        resources=("cpu", "memory"),
        utilisation=(0.5, 0.5),
        taint_fraction=0.0,
        not_ready_fraction=0.0,
        gpu_fraction=0.0,
    )
    assert all(set(c.allocatable) == {"cpu", "memory"} for c in fleet.clusters)
    assert not any(c.taints for c in fleet.clusters)
    assert all(c.ready for c in fleet.clusters)
    assert len({c.provider for c in fleet.clusters}) == 5
    assert any(c.region.endswith("-region-9") or c.region.endswith("-region-10") for c in fleet.clusters)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_clusters": -1},
        {"utilisation": (0.8, 0.2)},
        {"utilisation": (0.1, 1.5)},
        {"taint_fraction": 2.0},
        {"resources": ("cpu", "gpu")},
        {"providers": 0},
    ],
)
def test_fleet_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    args = {"n_clusters": 5, "seed": 1, **kwargs}
    with pytest.raises(InvalidInput):
        synthetic_fleet(**args)


# -- policies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_every_policy_validates_and_round_trips(shape: Shape, fleet: Fleet) -> None:
    policies = synthetic_policies(48, seed=11, shape=shape, fleet=fleet)
    assert len(policies) == 48
    for p in policies:
        again = PlacementPolicy.model_validate(p.dump())
        assert again == p
        names = {q.name for q in p.prioritizers}
        assert 6 <= len(p.prioritizers) <= 8
        assert names <= SCORE_FACTORS
        props = {q.property for q in p.prioritizers if q.name == "ClusterProperty"}
        assert props <= {"cost", "latencyMs"}
        assert all(q.prefer == "Lower" for q in p.prioritizers if q.name == "ClusterProperty")


def test_policy_shapes() -> None:
    for p in synthetic_policies(16, seed=3, shape="single"):
        assert (p.placement_type, p.number_of_clusters, p.replica_strategy) == ("PickN", 1, "Duplicated")
    for p in synthetic_policies(16, seed=3, shape="divided"):
        assert (p.placement_type, p.replica_strategy) == ("PickAll", "DynamicWeight")
    mixed = synthetic_policies(64, seed=3, shape="mixed")
    strategies = {p.replica_strategy for p in mixed}
    assert strategies == {"Duplicated", "DynamicWeight", "StaticWeight", "Aggregated"}
    assert any(p.spread_constraints for p in mixed)
    assert any(p.cluster_affinities for p in mixed)
    assert any(p.cluster_tolerations for p in mixed)
    assert any(p.cluster_affinity and p.cluster_affinity.label_selector for p in mixed)
    assert any(p.cluster_affinity and p.cluster_affinity.field_selector for p in mixed)


def test_policies_are_deterministic_and_seed_dependent() -> None:
    assert synthetic_policies(20, seed=1) == synthetic_policies(20, seed=1)
    assert synthetic_policies(20, seed=1) != synthetic_policies(20, seed=2)


# -- workloads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_workloads_are_deterministic_per_seed(shape: Shape, fleet: Fleet) -> None:
    a = synthetic_workloads(200, seed=5, fleet=fleet, shape=shape)
    b = synthetic_workloads(200, seed=5, fleet=fleet, shape=shape)
    assert _dumps(a) == _dumps(b)


def test_workloads_differ_between_seeds(fleet: Fleet) -> None:
    a = synthetic_workloads(100, seed=5, fleet=fleet)
    b = synthetic_workloads(100, seed=6, fleet=fleet)
    assert _dumps(a) != _dumps(b)


@pytest.mark.parametrize("n", [0, 1, 333])
def test_workload_count_and_identity(n: int) -> None:
    tasks = synthetic_workloads(n, seed=2)
    assert len(tasks) == n
    assert len({t.workload.key for t in tasks}) == n
    assert len({t.workload.uid for t in tasks}) == n


def test_workloads_share_few_policy_objects(fleet: Fleet) -> None:
    tasks = synthetic_workloads(2000, seed=9, fleet=fleet, policies=16)
    assert 1 < len({id(t.policy) for t in tasks}) <= 16
    policies = synthetic_policies(3, seed=1, shape="single")
    tasks = synthetic_workloads(50, seed=9, policies=policies)
    assert {id(t.policy) for t in tasks} <= {id(p) for p in policies}


def test_workload_requests(fleet: Fleet) -> None:
    tasks = synthetic_workloads(1000, seed=3, fleet=fleet, shape="mixed", policies=32)
    for t in tasks:
        w = t.workload
        assert w.replicas >= 1
        asked = set(w.requests)
        assert {"cpu", "memory"} <= asked
        assert asked <= {"cpu", "memory", "ephemeral-storage", GPU}
        assert 3 <= len(asked) + 1 <= 5  # the pod always counts as one more resource
        assert (GPU in asked) == any(tol.tolerates(GPU_TAINT) for tol in t.policy.cluster_tolerations)
    assert any("ephemeral-storage" in t.workload.requests for t in tasks)
    assert any("ephemeral-storage" not in t.workload.requests for t in tasks)
    assert {t.workload.priority for t in tasks} == {0, 100, 1000}


def test_fleet_limits_requested_resources() -> None:
    small = synthetic_fleet(20, seed=1, resources=("cpu", "memory", "pods"), gpu_fraction=0.0)
    tasks = synthetic_workloads(300, seed=1, fleet=small)
    assert all(set(t.workload.requests) <= {"cpu", "memory"} for t in tasks)


def test_load_scales_replicas(fleet: Fleet) -> None:
    light = synthetic_workloads(300, seed=4, fleet=fleet, shape="divided", load=0.1)
    heavy = synthetic_workloads(300, seed=4, fleet=fleet, shape="divided", load=0.9)
    assert sum(t.workload.replicas for t in heavy) > 4 * sum(t.workload.replicas for t in light)


@pytest.mark.parametrize(
    "kwargs",
    [{"n": -1}, {"shape": "spread"}, {"policies": 0}, {"load": 0}, {"namespaces": 0}],
)
def test_workloads_reject_bad_arguments(kwargs: dict[str, Any]) -> None:
    args = {"n": 5, "seed": 1, **kwargs}
    with pytest.raises(InvalidInput):
        synthetic_workloads(**args)


@pytest.mark.parametrize("shape", SHAPES)
def test_generated_batch_places(shape: Shape, fleet: Fleet) -> None:
    tasks = synthetic_workloads(300, seed=8, fleet=fleet, shape=shape, policies=24)
    decisions = place_batch(fleet, tasks)
    assert len(decisions) == len(tasks)
    assert [d.workload for d in decisions] == [t.workload.ref for t in tasks]
    # Load 0.5 leaves room: most workloads are schedulable.
    assert sum(d.schedulable for d in decisions) >= 0.8 * len(tasks)
    for d, t in zip(decisions, tasks, strict=True):
        if d.schedulable and t.policy.replica_strategy != "Duplicated":
            assert sum(c.replicas for c in d.clusters) == t.workload.replicas


def test_explained_batch_places(fleet: Fleet) -> None:
    tasks = synthetic_workloads(40, seed=8, fleet=fleet, shape="mixed", policies=12)
    decisions = place_batch(fleet, tasks, explain=True)
    assert all(d.explanation is not None for d in decisions)
