"""The controllers over in-memory API servers (tmc_kube.FakeKube): one hub, two members with Nodes.

The scenario is the issue's, step by step: registration, a divided Deployment, member status folded
back, a scale-up that places only the increase, an unreachable member losing its replicas after the
grace period (and not before), deletion with the finalizer, and a second namespace kept apart.
The expected splits are derived from the members' capacity, not written down.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tmc_core.manifests import cluster_from_manifest
from tmc_core.model import Decision
from tmc_core.sync import FINALIZER, downstream_namespace
from tmc_kcp.controllers import reconcile_placements
from tmc_kcp.health import cordon, drain
from tmc_kcp.manager import Manager
from tmc_kcp.members import Members
from tmc_kcp.workspaces import Hub
from tmc_kube import FakeKube, NotFound, ObjectRef, Unavailable

TMC = "tmc.kcp.io/v1alpha1"
REQUEST_CPU_MILLI = 500
GRACE = 60.0


class Switchable:
    """A member port that can be made unreachable (every call raises Unavailable)."""

    def __init__(self, inner: FakeKube) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise Unavailable(f"{name}: connection refused")
            return attr(*args, **kwargs)

        return call


def _node(name: str, cpu: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _deployment(namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": f"{REQUEST_CPU_MILLI}m", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }


def _placement(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": TMC,
        "kind": "WorkloadPlacement",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {
                "replicaScheduling": {
                    "replicaSchedulingType": "Divided",
                    "replicaDivisionPreference": "Weighted",
                    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
                }
            },
        },
    }


class World:
    def __init__(self) -> None:
        self.hub = FakeKube()
        self.members = {"member-a": Switchable(FakeKube()), "member-b": Switchable(FakeKube())}
        self.cpu = {"member-a": "8", "member-b": "4"}
        for name, port in self.members.items():
            port.inner.create(_node(f"{name}-node", self.cpu[name]))
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.manager = Manager(
            Hub(lambda url: self.hub, "https://hub.test"),
            Members.from_ports(self.members),  # type: ignore[arg-type]
            clock=lambda: self.now,
            grace_period=GRACE,
            heartbeat_interval=3600.0,
            resync_period=3600.0,
        )

    def capacity_in_replicas(self, name: str) -> int:
        return int(float(self.cpu[name]) * 1000) // REQUEST_CPU_MILLI

    def register(self) -> None:
        """Register every member and let the first heartbeats land (a workload created before a
        cluster reports capacity is placed without it and, steady, stays where it went)."""
        for name in self.members:
            self.hub.create({"apiVersion": TMC, "kind": "ClusterRegistration", "metadata": {"name": name}})
        self.manager.settle()

    def workload(self, namespace: str, replicas: int) -> None:
        self.hub.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self.hub.create(_deployment(namespace, replicas))
        self.hub.create(_placement(namespace))

    def decision(self, namespace: str) -> Decision:
        obj = self.hub.get(ObjectRef(TMC, "WorkloadPlacement", namespace, "web"))
        (record,) = obj["status"]["decisions"]
        return Decision.from_record(record)

    def downstream(self, member: str, namespace: str) -> dict[str, Any] | None:
        ref = ObjectRef("apps/v1", "Deployment", downstream_namespace("", namespace), "web")
        try:
            return self.members[member].inner.get(ref)
        except NotFound:
            return None

    def heartbeat(self) -> None:
        for name in self.members:
            self.manager.controllers["registration"].enqueue(name)
        self.manager.settle()

    def poll_status(self, namespace: str) -> None:
        self.manager.controllers["status"].enqueue(f"{namespace}/web")
        self.manager.settle()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    assert w.manager.start_informers(timeout=5)
    yield w
    w.manager.stop()


def _expected_split(world: World, total: int, clusters: list[str]) -> dict[str, int]:
    """Sainte-Lague by available replicas, the rule the policy names (computed, not copied)."""
    weights = {c: world.capacity_in_replicas(c) for c in clusters}
    seats = dict.fromkeys(clusters, 0)
    for _ in range(total):
        best = max(sorted(clusters), key=lambda c: weights[c] / (2 * seats[c] + 1))
        seats[best] += 1
    return {c: n for c, n in seats.items() if n}


def test_registration_reports_capacity_and_readiness(world: World) -> None:
    world.register()
    world.manager.settle()
    for name in world.members:
        obj = world.hub.get(ObjectRef(TMC, "ClusterRegistration", "", name))
        cluster = cluster_from_manifest(obj)
        assert str(cluster.allocatable["cpu"]) == world.cpu[name]
        assert cluster.ready
        kinds = {c.type: c.status for c in cluster.conditions}
        assert kinds == {"Ready": "True", "Unreachable": "False", "Cordoned": "False"}
    assert world.manager.metrics.registry.get_sample_value("tmc_cluster_ready", {"cluster": "member-a"}) == 1


def test_divided_workload_lands_downstream_and_status_comes_back(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    decision = world.decision("shop")
    expected = _expected_split(world, 6, list(world.members))
    assert decision.replicas == expected
    for member, replicas in expected.items():
        copy_ = world.downstream(member, "shop")
        assert copy_ is not None and copy_["spec"]["replicas"] == replicas
    upstream = world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    assert FINALIZER in upstream["metadata"]["finalizers"]
    placement = world.hub.get(ObjectRef(TMC, "WorkloadPlacement", "shop", "web"))
    assert placement["status"]["decisions"][0]["explanation"]["totalClusters"] == 2

    for member, replicas in expected.items():
        port = world.members[member].inner
        copy_ = world.downstream(member, "shop")
        assert copy_ is not None
        copy_["status"] = {
            "replicas": replicas,
            "readyReplicas": replicas - 1,
            "availableReplicas": replicas - 1,
        }
        port.update_status(copy_)
    world.poll_status("shop")
    status = world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))["status"]
    assert status["replicas"] == 6
    assert status["readyReplicas"] == 6 - len(expected)


def test_scale_up_places_only_the_increase(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    before = world.decision("shop").replicas
    upstream = world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    upstream["spec"]["replicas"] = 9
    world.hub.update(upstream)
    world.manager.settle()
    after = world.decision("shop").replicas
    assert sum(after.values()) == 9
    assert all(after.get(c, 0) >= n for c, n in before.items())
    for member, replicas in after.items():
        copy_ = world.downstream(member, "shop")
        assert copy_ is not None and copy_["spec"]["replicas"] == replicas


def test_unreachable_member_loses_its_replicas_only_after_the_grace_period(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    before = world.decision("shop").replicas
    assert before.get("member-b", 0) > 0
    world.members["member-b"].down = True
    world.heartbeat()
    reg = cluster_from_manifest(world.hub.get(ObjectRef(TMC, "ClusterRegistration", "", "member-b")))
    assert not reg.ready
    assert world.decision("shop").replicas == before  # within the grace period nothing moves
    world.now += timedelta(seconds=GRACE / 4)
    rerun = reconcile_placements(world.manager.ctx)
    assert rerun is not None and rerun.requeue_after == pytest.approx(GRACE * 3 / 4, abs=1.0)

    world.now += timedelta(seconds=GRACE)
    world.heartbeat()
    world.manager.controllers["placement"].enqueue("placements")
    world.manager.settle()
    after = world.decision("shop").replicas
    assert after == {"member-a": 6}
    copy_ = world.downstream("member-a", "shop")
    assert copy_ is not None and copy_["spec"]["replicas"] == 6


def test_delete_removes_every_copy_then_the_finalizer(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    world.hub.delete(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    world.manager.settle()
    for member in world.members:
        assert world.downstream(member, "shop") is None
        with pytest.raises(NotFound):
            world.members[member].inner.get(
                ObjectRef("v1", "Namespace", "", downstream_namespace("", "shop"))
            )
    with pytest.raises(NotFound):
        world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))


def test_finalizer_stays_while_a_member_within_grace_cannot_be_cleaned(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    world.members["member-b"].down = True
    world.heartbeat()
    world.hub.delete(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    world.manager.settle()
    upstream = world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    assert FINALIZER in upstream["metadata"]["finalizers"]
    assert world.downstream("member-a", "shop") is None
    world.members["member-b"].down = False
    world.manager.controllers["sync"].enqueue("shop/web")
    world.manager.settle()
    with pytest.raises(NotFound):
        world.hub.get(ObjectRef("apps/v1", "Deployment", "shop", "web"))


def test_second_namespace_stays_isolated(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.workload("shop-two", 2)
    world.manager.settle()
    first, second = world.decision("shop"), world.decision("shop-two")
    assert sum(first.replicas.values()) == 6 and sum(second.replicas.values()) == 2
    assert downstream_namespace("", "shop") != downstream_namespace("", "shop-two")
    world.hub.delete(ObjectRef("apps/v1", "Deployment", "shop-two", "web"))
    world.manager.settle()
    assert world.decision("shop").replicas == first.replicas
    for member, replicas in first.replicas.items():
        copy_ = world.downstream(member, "shop")
        assert copy_ is not None and copy_["spec"]["replicas"] == replicas
        assert world.downstream(member, "shop-two") is None


def test_drain_moves_replicas_and_cordon_keeps_them(world: World) -> None:
    world.register()
    world.workload("shop", 6)
    world.manager.settle()
    before = world.decision("shop").replicas
    reg = world.hub.get(ObjectRef(TMC, "ClusterRegistration", "", "member-b"))
    world.hub.update(cordon(reg))
    world.manager.settle()
    assert world.decision("shop").replicas == before
    reg = world.hub.get(ObjectRef(TMC, "ClusterRegistration", "", "member-b"))
    conditions = {c["type"]: c["status"] for c in reg["status"]["conditions"]}
    assert conditions["Cordoned"] == "True"
    world.hub.update(drain(copy.deepcopy(reg)))
    world.manager.settle()
    assert world.decision("shop").replicas == {"member-a": 6}


def test_solver_decisions_carry_the_engines_explanation_and_the_solvers_note() -> None:
    from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads
    from tmc_kcp.controllers.placement import decide

    fleet = synthetic_fleet(8, seed=1)
    tasks = synthetic_workloads(10, seed=2, fleet=fleet, shape="divided")
    decisions = decide(fleet, tasks, "flow", 2.0)
    assert [d.workload for d in decisions] == [t.workload.ref for t in tasks]
    for d in decisions:
        assert d.explanation is not None
        assert any(n.startswith("chosen by the flow solver") for n in d.explanation.notes)
        assert {s.cluster for s in d.explanation.scores} >= {c.name for c in d.clusters}
