"""Capacity discovery rules: Node and Pod dicts -> the Cluster model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmc_core.errors import InvalidInput
from tmc_core.model import ResourceList, Toleration
from tmc_kube import FakeKube, cluster_capacity, discover_cluster, node_counts


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    *,
    ready: bool = True,
    unschedulable: bool = False,
    taints: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": {"unschedulable": unschedulable, "taints": taints or []},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(
    name: str, node_name: str | None, phase: str = "Running", ns: str = "default", **spec: Any
) -> dict[str, Any]:
    spec.setdefault(
        "containers", [{"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]
    )
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
        "status": {"phase": phase},
    }


def requests(**r: str) -> dict[str, Any]:
    return {"resources": {"requests": r}}


def test_only_ready_schedulable_untainted_nodes_count() -> None:
    nodes = [
        node("a", "4", "8Gi"),
        node("b", "2", "4Gi", "50"),
        node("down", "64", ready=False),
        node("cordoned", "64", unschedulable=True),
        node(
            "control-plane",
            "64",
            taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        ),
        node("evicting", "64", taints=[{"key": "k", "effect": "NoExecute"}]),
        node("soft", "1", "1Gi", "10", taints=[{"key": "k", "effect": "PreferNoSchedule"}]),
    ]
    cluster = cluster_capacity("m1", nodes, [])
    assert cluster.allocatable == ResourceList({"cpu": "7", "memory": "13Gi", "pods": "170"})
    assert cluster.allocated == ResourceList({"pods": 0})


def test_tolerations_let_tainted_nodes_count() -> None:
    gpu = node("gpu", "8", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    assert not node_counts(gpu)
    assert node_counts(gpu, [Toleration(key="dedicated", value="gpu")])
    assert not node_counts(gpu, [Toleration(key="dedicated", value="tpu")])


def test_requests_follow_the_scheduler_rule() -> None:
    pods = [
        # init container larger than the sum of containers: the init peak counts (cpu), the sum (memory)
        pod(
            "init",
            "a",
            initContainers=[{"name": "i", **requests(cpu="2", memory="100Mi")}],
            containers=[
                {"name": "x", **requests(cpu="250m", memory="256Mi")},
                {"name": "y", **requests(cpu="250m", memory="256Mi")},
            ],
        ),
        # overhead is added; a limit stands in for a missing request
        pod(
            "kata",
            "a",
            overhead={"cpu": "250m", "memory": "160Mi"},
            containers=[{"name": "z", "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": "1"}}}],
        ),
        pod("done", "a", "Succeeded"),
        pod("failed", "a", "Failed"),
        pod("unbound", None, "Pending"),
        pod("on-down-node", "down"),
        pod("pending-bound", "a", "Pending"),
    ]
    cluster = cluster_capacity("m1", [node("a", "16", "64Gi"), node("down", ready=False)], pods)
    assert cluster.allocated == ResourceList(
        {"cpu": "3350m", "memory": "736Mi", "nvidia.com/gpu": "1", "pods": 3}
    )


def test_bad_quantity_names_the_object_and_field() -> None:
    with pytest.raises(InvalidInput) as err:
        cluster_capacity("m1", [node("a", cpu="4 cores")], [])
    assert str(err.value).startswith("Node a: status.allocatable.cpu: invalid quantity")
    with pytest.raises(InvalidInput) as err:
        cluster_capacity("m1", [node("a")], [pod("p", "a", containers=[{"name": "c", **requests(cpu="x")}])])
    assert str(err.value).startswith("Pod default/p: spec.containers[0].resources.requests.cpu")


def test_discover_cluster_lists_through_the_port_and_probes_readiness() -> None:
    fake = FakeKube()
    fake.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    fake.create(node("a", "4", "8Gi"))
    fake.create(pod("p", "a"))
    fake.create(pod("gone", "a", "Succeeded"))
    fake.ready = (False, "[-]etcd failed")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cluster = discover_cluster(fake, "m1", now=now)
    assert cluster.allocated == ResourceList({"cpu": "100m", "memory": "64Mi", "pods": 1})
    assert not cluster.ready
    (ready,) = cluster.conditions
    assert (ready.message, ready.last_heartbeat_time) == ("[-]etcd failed", now)


# -- properties -----------------------------------------------------------------------------------

milli = st.integers(min_value=0, max_value=64_000)
nodes_st = st.lists(
    st.tuples(
        milli,
        st.booleans(),
        st.booleans(),
        st.sampled_from(["", "NoSchedule", "NoExecute", "PreferNoSchedule"]),
    ),
    max_size=6,
)
pods_st = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=7),
        milli,
        st.sampled_from(["Running", "Pending", "Succeeded", "Failed"]),
    ),
    max_size=12,
)


def _world(
    ns: list[tuple[int, bool, bool, str]], ps: list[tuple[int, int, str]]
) -> tuple[list[Any], list[Any]]:
    nodes = [
        node(
            f"n{i}",
            f"{cpu}m",
            ready=ready,
            unschedulable=cordoned,
            taints=[{"key": "t", "effect": effect}] if effect else [],
        )
        for i, (cpu, ready, cordoned, effect) in enumerate(ns)
    ]
    pods = [
        pod(f"p{j}", f"n{i}", phase, containers=[{"name": "c", **requests(cpu=f"{cpu}m")}])
        for j, (i, cpu, phase) in enumerate(ps)
    ]
    return nodes, pods


def _milli(resources: ResourceList, name: str) -> int:
    q = resources.get(name)
    return 0 if q is None else q.milli_value()


@given(nodes_st, pods_st)
def test_capacity_is_a_sum_over_counted_nodes_and_their_live_pods(
    ns: list[tuple[int, bool, bool, str]], ps: list[tuple[int, int, str]]
) -> None:
    nodes, pods = _world(ns, ps)
    cluster = cluster_capacity("m", nodes, pods)
    usable = {
        f"n{i}"
        for i, (_cpu, ready, cordoned, effect) in enumerate(ns)
        if ready and not cordoned and effect not in ("NoSchedule", "NoExecute")
    }
    assert _milli(cluster.allocatable, "cpu") == sum(
        cpu for i, (cpu, *_rest) in enumerate(ns) if f"n{i}" in usable
    )
    live = [cpu for i, cpu, phase in ps if f"n{i}" in usable and phase in ("Running", "Pending")]
    assert cluster.allocated["pods"].value() == len(live)
    assert _milli(cluster.allocated, "cpu") == sum(live)
    assert cluster.free == (cluster.allocatable - cluster.allocated).clamp_min_zero()


@given(nodes_st, pods_st, st.sampled_from(["Succeeded", "Failed"]))
def test_terminal_and_unbound_pods_never_change_capacity(
    ns: list[tuple[int, bool, bool, str]], ps: list[tuple[int, int, str]], phase: str
) -> None:
    nodes, pods = _world(ns, ps)
    base = cluster_capacity("m", nodes, pods)
    extra = [
        pod("terminal", "n0", phase, containers=[{"name": "c", **requests(cpu="9")}]),
        pod("unbound", None, "Pending", containers=[{"name": "c", **requests(cpu="9")}]),
    ]
    assert cluster_capacity("m", nodes, pods + extra) == base
