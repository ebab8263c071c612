"""The controllers on a kcp-shaped hub: a virtual workspace that lists every workspace (objects carry
``kcp.io/cluster``) and per-workspace write endpoints, modelled over one FakeKube shard. Two
workspaces hold objects of the same names; each gets its own decision, its own downstream namespace
and its own status, and deleting in one leaves the other alone."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.test_kcp_controllers import _deployment, _node, _placement
from tmc_core.model import Decision
from tmc_core.sync import FINALIZER, downstream_namespace
from tmc_kcp.manager import Manager
from tmc_kcp.members import Members
from tmc_kcp.workspaces import Hub
from tmc_kube import FakeKube, NotFound, ObjectRef, WatchEvent

TMC = "tmc.kcp.io/v1alpha1"
VW = "https://kcp.test/services/apiexport/provider/tmc.kcp.io"
SEP = "--"


def _encode(manifest: Mapping[str, Any], workspace: str) -> dict[str, Any]:
    """Store an object of ``workspace`` in the shard: namespace (or cluster-scoped name) prefixed."""
    out = copy.deepcopy(dict(manifest))
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})["kcp.io/cluster"] = workspace
    if out.get("kind") == "Namespace" or not meta.get("namespace"):
        meta["name"] = f"{workspace}{SEP}{meta['name']}"
    else:
        meta["namespace"] = f"{workspace}{SEP}{meta['namespace']}"
    return out


def _decode(manifest: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(manifest))
    meta = out["metadata"]
    field = "namespace" if meta.get("namespace") and out.get("kind") != "Namespace" else "name"
    meta[field] = meta[field].split(SEP, 1)[1]
    return out


class _Stream:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[WatchEvent]:
        for event in self.inner:
            yield WatchEvent(event.type, _decode(event.object) if event.type != "BOOKMARK" else event.object)

    def close(self) -> None:
        self.inner.close()


class Wildcard:
    """``<vw>/clusters/*``: every workspace's objects, decoded, with one resourceVersion."""

    def __init__(self, shard: FakeKube) -> None:
        self.shard = shard

    def list(self, api_version: str, kind: str, **kw: Any) -> Any:
        result = self.shard.list(api_version, kind, **kw)
        result.items[:] = [_decode(o) for o in result.items]
        return result

    def watch(self, api_version: str, kind: str, **kw: Any) -> _Stream:
        return _Stream(self.shard.watch(api_version, kind, **kw))


class Workspace:
    """``<vw>/clusters/<logical cluster>``: writes land in that workspace only."""

    def __init__(self, shard: FakeKube, name: str) -> None:
        self.shard, self.name = shard, name

    def _ref(self, ref: ObjectRef) -> ObjectRef:
        encoded = _encode(
            {"kind": ref.kind, "metadata": {"namespace": ref.namespace, "name": ref.name}}, self.name
        )
        return ObjectRef(
            ref.api_version, ref.kind, encoded["metadata"].get("namespace", ""), encoded["metadata"]["name"]
        )

    def get(self, ref: ObjectRef) -> dict[str, Any]:
        return _decode(self.shard.get(self._ref(ref)))

    def create(self, manifest: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        return _decode(self.shard.create(_encode(manifest, self.name), **kw))

    def update(self, manifest: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        return _decode(self.shard.update(_encode(manifest, self.name), **kw))

    def update_status(self, manifest: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        return _decode(self.shard.update_status(_encode(manifest, self.name), **kw))

    def delete(self, ref: ObjectRef, **kw: Any) -> None:
        self.shard.delete(self._ref(ref), **kw)


class KcpWorld:
    def __init__(self, fleet_workspace: str | None = None) -> None:
        self.shard = FakeKube(require_namespaces=False)
        self.asked: list[str] = []
        self.members = {"member-a": FakeKube(), "member-b": FakeKube()}
        for name, port in self.members.items():
            port.create(_node(f"{name}-node", "8"))
        self.manager = Manager(
            Hub(self._port_for, "https://kcp.test", virtual_workspace_urls=[VW]),
            Members.from_ports(self.members),
            clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
            heartbeat_interval=3600.0,
            resync_period=3600.0,
            fleet_workspace=fleet_workspace,
        )

    def _port_for(self, url: str) -> Any:
        self.asked.append(url)
        workspace = url.rsplit("/clusters/", 1)[1]
        return Wildcard(self.shard) if workspace == "*" else Workspace(self.shard, workspace)

    def ws(self, name: str) -> Workspace:
        return Workspace(self.shard, name)

    def decision(self, workspace: str) -> dict[str, int]:
        obj = self.ws(workspace).get(ObjectRef(TMC, "WorkloadPlacement", "shop", "web"))
        return Decision.from_record(obj["status"]["decisions"][0]).replicas

    def copies(self, workspace: str) -> dict[str, int]:
        out = {}
        for name, port in self.members.items():
            try:
                d = port.get(
                    ObjectRef("apps/v1", "Deployment", downstream_namespace(workspace, "shop"), "web")
                )
            except NotFound:
                continue
            out[name] = d["spec"]["replicas"]
        return out


@pytest.fixture
def kcp() -> Iterator[KcpWorld]:
    world = KcpWorld()
    assert world.manager.start_informers(timeout=5)
    yield world
    world.manager.stop()


def test_two_workspaces_with_equal_names_stay_isolated(kcp: KcpWorld) -> None:
    compute = kcp.ws("compute1")
    for name in kcp.members:
        compute.create({"apiVersion": TMC, "kind": "ClusterRegistration", "metadata": {"name": name}})
    kcp.manager.settle()
    for workspace, replicas in (("team1", 6), ("team2", 4)):
        kcp.ws(workspace).create(_deployment("shop", replicas))
        kcp.ws(workspace).create(_placement("shop"))
    kcp.manager.settle()
    assert f"{VW}/clusters/*" in kcp.asked
    assert {f"{VW}/clusters/{w}" for w in ("compute1", "team1", "team2")} <= set(kcp.asked)

    assert sum(kcp.decision("team1").values()) == 6
    assert sum(kcp.decision("team2").values()) == 4
    assert kcp.copies("team1") == kcp.decision("team1")
    assert kcp.copies("team2") == kcp.decision("team2")
    assert downstream_namespace("team1", "shop") != downstream_namespace("team2", "shop")
    for workspace in ("team1", "team2"):
        upstream = kcp.ws(workspace).get(ObjectRef("apps/v1", "Deployment", "shop", "web"))
        assert FINALIZER in upstream["metadata"]["finalizers"]

    team2_copies = kcp.copies("team2")
    kcp.ws("team1").delete(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    kcp.manager.settle()
    assert kcp.copies("team1") == {}
    with pytest.raises(NotFound):
        kcp.ws("team1").get(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    assert kcp.copies("team2") == team2_copies
    assert kcp.ws("team2").get(ObjectRef("apps/v1", "Deployment", "shop", "web"))["spec"]["replicas"] == 4


def test_only_the_fleet_workspace_registers_clusters() -> None:
    """A tenant's ClusterRegistrations neither join the fleet nor get probed: with a fleet workspace
    set, a tenant cannot shadow a member's registration or add a cluster for everyone."""
    kcp = KcpWorld(fleet_workspace="compute1")
    assert kcp.manager.start_informers(timeout=5)
    try:
        registration = {"apiVersion": TMC, "kind": "ClusterRegistration"}
        kcp.ws("compute1").create({**registration, "metadata": {"name": "member-a"}})
        # team1 claims member-b (and tries to keep replicas off it with a taint) and a cluster of its own.
        kcp.ws("team1").create(
            {
                **registration,
                "metadata": {"name": "member-b"},
                "spec": {"taints": [{"key": "mine", "effect": "NoSchedule"}]},
            }
        )
        kcp.ws("team1").create({**registration, "metadata": {"name": "member-c"}})
        kcp.manager.settle()
        assert [c.name for c, _ in kcp.manager.ctx.clusters()] == ["member-a"]
        for name in ("member-b", "member-c"):
            assert "status" not in kcp.ws("team1").get(ObjectRef(TMC, "ClusterRegistration", "", name))
        assert kcp.ws("compute1").get(ObjectRef(TMC, "ClusterRegistration", "", "member-a"))["status"]
        kcp.ws("team2").create(_deployment("shop", 4))
        kcp.ws("team2").create(_placement("shop"))
        kcp.manager.settle()
        assert kcp.decision("team2") == {"member-a": 4}
        assert kcp.copies("team2") == {"member-a": 4}
    finally:
        kcp.manager.stop()
