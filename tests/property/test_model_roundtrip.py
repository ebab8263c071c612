"""Round trips: model values survive dump -> load, and clusters/placements survive manifest ->
inventory -> manifest, for every value the shipped hypothesis strategies generate."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tmc_core.manifests import cluster_manifest, dump_documents, placement_manifest, read_inventory
from tmc_core.model import Cluster, Fleet, PlacementPolicy, Workload, WorkloadPlacement
from tmc_core.testing import strategies as tst


@given(tst.clusters())
def test_cluster_dump_load(cluster: Cluster) -> None:
    assert Cluster.model_validate(cluster.dump()) == cluster


@given(tst.workloads())
def test_workload_dump_load(workload: Workload) -> None:
    assert Workload.model_validate(workload.dump()) == workload


@given(tst.placement_policies())
def test_policy_dump_load(policy: PlacementPolicy) -> None:
    assert PlacementPolicy.model_validate(policy.dump()) == policy


@given(tst.placement_policies())
def test_policy_json_round_trip(policy: PlacementPolicy) -> None:
    assert PlacementPolicy.model_validate_json(policy.model_dump_json(by_alias=True)) == policy


@settings(max_examples=50)
@given(tst.fleets(min_size=1, max_size=5))
def test_cluster_manifest_inventory_manifest(fleet: Fleet) -> None:
    text = dump_documents([cluster_manifest(c) for c in fleet])
    inventory = read_inventory([("fleet.yaml", text)])
    assert inventory.fleet == fleet
    assert [cluster_manifest(c) for c in inventory.fleet] == [cluster_manifest(c) for c in fleet]


@given(tst.workload_placements())
def test_placement_manifest_round_trip(placement: WorkloadPlacement) -> None:
    text = dump_documents([placement_manifest(placement)])
    (back,) = read_inventory([("p.yaml", text)]).placements
    assert back == placement


@given(st.data())
def test_strategies_generate_valid_values(data: st.DataObject) -> None:
    # The strategies are public: what they make must be accepted by the models' own validation.
    fleet = data.draw(tst.fleets(max_size=4))
    assert len(set(fleet.names)) == len(fleet)
    policy = data.draw(tst.placement_policies())
    assert PlacementPolicy.model_validate(policy.model_dump()) == policy
