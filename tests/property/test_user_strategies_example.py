"""The example property test of docs/testing.md, kept here so that it runs (keep the two in step).

It is written the way a user would write one against tmc: only public imports, the shipped
strategies, and invariants that hold for every fleet, workload and policy.
"""

from hypothesis import given, settings

from tmc_core.model import Cluster, Fleet, PlacementPolicy, Workload
from tmc_core.placement import place
from tmc_core.testing import strategies as tst


def keeps_away(policy: PlacementPolicy, cluster: Cluster) -> bool:
    """The cluster has a hard taint (NoSchedule or NoExecute) that the policy does not tolerate."""
    return any(
        taint.effect != "PreferNoSchedule" and not any(t.tolerates(taint) for t in policy.cluster_tolerations)
        for taint in cluster.taints
    )


@settings(max_examples=25, deadline=None)
@given(tst.fleets(min_size=1, max_size=4), tst.workloads(), tst.placement_policies())
def test_placement_respects_replicas_and_taints(
    fleet: Fleet, workload: Workload, policy: PlacementPolicy
) -> None:
    decision = place(fleet, workload, policy)
    placed = decision.replicas

    assert set(placed) <= set(fleet.names)  # only clusters of this fleet
    if policy.replica_strategy == "Duplicated":
        assert all(n == workload.replicas for n in placed.values())  # a full copy each
    else:
        assert sum(placed.values()) <= workload.replicas  # never more than asked
        if decision.schedulable:
            assert sum(placed.values()) == workload.replicas  # "schedulable" means all of it
    if policy.placement_type != "PickFixed":  # PickFixed names its clusters and bypasses taints
        for name in placed:
            assert not keeps_away(policy, fleet[name])  # hard taints keep untolerating workloads away


def test_docs_show_this_very_test() -> None:
    """docs/testing.md quotes the code above; fail when the two drift apart."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "testing.md").read_text()
    block = doc.split("```python\n", 1)[1].split("```", 1)[0]
    here = Path(__file__).read_text()
    code = here[here.index("from hypothesis import") : here.index("\n\ndef test_docs_show_this_very_test")]
    assert block.strip() == code.strip()
