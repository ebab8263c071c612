"""mode="independent": every workload decided alone against the same capacity, as Karmada does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import PlacementTask, place, place_batch
from tmc_core.simulate import synthetic_fleet, synthetic_workloads


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from(["single", "divided", "mixed"]))
def test_each_independent_decision_is_the_workload_placed_alone(seed: int, shape: str) -> None:
    fleet = synthetic_fleet(12, seed=seed)
    tasks = synthetic_workloads(20, seed=seed + 1, fleet=fleet, shape=shape, policies=6, load=2.0)  # type: ignore[arg-type]
    together = place_batch(fleet, tasks, mode="independent")
    alone = [place(fleet, t.workload, t.policy, current=t.current) for t in tasks]
    assert [(d.replicas, d.schedulable, d.reason) for d in together] == [
        (d.replicas, d.schedulable, d.reason) for d in alone
    ]


def test_independent_decisions_do_not_share_capacity() -> None:
    fleet = [Cluster.model_validate({"name": "only", "allocatable": {"cpu": "4", "pods": "10"}})]
    policy = PlacementPolicy.model_validate({"replicaScheduling": {"replicaSchedulingType": "Divided"}})
    tasks = [
        PlacementTask(Workload.model_validate({"name": n, "replicas": 3, "requests": {"cpu": "1"}}), policy)
        for n in ("a", "b")
    ]
    sequential = place_batch(fleet, tasks)
    independent = place_batch(fleet, tasks, mode="independent")
    assert [d.schedulable for d in sequential] == [True, False]  # b finds 1 cpu left
    assert [d.replicas for d in independent] == [{"only": 3}, {"only": 3}]


def test_unknown_mode_names_the_three_modes() -> None:
    with pytest.raises(ValueError, match="expected sequential, batched or independent"):
        place_batch([], [], mode="parallel")  # type: ignore[arg-type]
