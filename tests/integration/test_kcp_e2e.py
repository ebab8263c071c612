"""End to end on real servers: the tmc-controller process against a kube-apiserver hub with tmc's CRDs
and two member kube-apiservers (no kubelets: Nodes are registered by hand, member status is written
by the test, as a kubelet and the Deployment controller would).

One scenario, as the issue lists it: register both members; a Deployment of 6 split by available
capacity; the split downstream in the mapped namespace; member status aggregated upstream; scale to 9
places only the increase; a stopped member loses its replicas after the grace period; delete upstream
removes every copy and releases the finalizer. A second namespace runs beside it and stays untouched.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tests.integration.e2e_support import (
    ControllerProcess,
    add_nodes,
    deployment,
    expected_split,
    merged_kubeconfig,
    placement,
    read_copies,
    report_member_status,
    wait_for,
)
from tests.integration.kcp_support import establish
from tmc_core.manifests import cluster_manifest
from tmc_core.model import Cluster, Decision
from tmc_core.sync import FINALIZER, downstream_namespace
from tmc_kcp import schemas

pytestmark = pytest.mark.integration

GRACE_S = 4


class Scenario:
    def __init__(self, hub: Any, members: dict[str, Any]) -> None:
        self.hub = hub
        self.members = members
        self.objects = client.CustomObjectsApi(hub)

    def decision(self, namespace: str) -> dict[str, int] | None:
        obj = self.objects.get_namespaced_custom_object(
            "tmc.kcp.io", "v1alpha1", namespace, "workloadplacements", "web"
        )
        records = (obj.get("status") or {}).get("decisions") or []
        return Decision.from_record(records[0]).replicas if records else None

    def copies(self, namespace: str) -> dict[str, int]:
        return read_copies(self.members, downstream_namespace("", namespace))

    def upstream(self, namespace: str) -> Any:
        return client.AppsV1Api(self.hub).read_namespaced_deployment("web", namespace)


@pytest.fixture(scope="module")
def running(
    kube_hub: servers.ApiServer,
    kube_members: list[servers.ApiServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scenario, ControllerProcess]]:
    tmp = tmp_path_factory.mktemp("e2e")
    hub_api = kube_hub.api_client()
    member_apis = {m.name: m.api_client() for m in kube_members}
    for kind in schemas.tmc_kinds():
        establish(hub_api, schemas.crd(kind))
    core = client.CoreV1Api(hub_api)
    for ns in ("tmc-system", "shop", "shop-b"):
        try:
            core.create_namespace({"metadata": {"name": ns}})
        except ApiException as err:
            if err.status != 409:
                raise
    add_nodes(member_apis)
    args = [
        f"--hub-kubeconfig={kube_hub.kubeconfig}",
        f"--member-kubeconfig={merged_kubeconfig(kube_members, tmp / 'members.kubeconfig')}",
        f"--grace-period={GRACE_S}s",
        "--heartbeat-interval=1s",
        "--resync-period=30s",
        "--lease-namespace=tmc-system",
        "--log-level=INFO",
    ]
    with ControllerProcess.running_with(args, tmp / "controller.log") as controller:
        yield Scenario(hub_api, member_apis), controller


def test_issue_scenario_end_to_end(
    running: tuple[Scenario, ControllerProcess], kube_members: list[servers.ApiServer]
) -> None:
    s, controller = running
    objects = s.objects
    for name in s.members:
        objects.create_cluster_custom_object(
            "tmc.kcp.io", "v1alpha1", "clusterregistrations", cluster_manifest(Cluster(name=name))
        )

    def ready(name: str) -> bool:
        obj = objects.get_cluster_custom_object("tmc.kcp.io", "v1alpha1", "clusterregistrations", name)
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    for name in s.members:
        wait_for(f"{name} Ready", lambda name=name: ready(name))

    apps = client.AppsV1Api(s.hub)
    for ns, replicas in (("shop", 6), ("shop-b", 2)):
        apps.create_namespaced_deployment(ns, deployment(ns, replicas))
        objects.create_namespaced_custom_object(
            "tmc.kcp.io", "v1alpha1", ns, "workloadplacements", placement(ns)
        )

    # 6 replicas divided by available capacity, and the split downstream in the mapped namespace.
    expected = expected_split("shop", 6)
    assert wait_for("decision for shop", lambda: s.decision("shop")) == expected
    wait_for("copies of shop", lambda: s.copies("shop") == expected)
    other = wait_for("copies of shop-b", lambda: s.copies("shop-b") or None)
    assert sum(other.values()) == 2
    assert FINALIZER in (s.upstream("shop").metadata.finalizers or [])

    # Member status is folded back upstream.
    for name, replicas in expected.items():
        report_member_status(s.members[name], downstream_namespace("", "shop"), replicas)
    wait_for("aggregated status", lambda: (s.upstream("shop").status.ready_replicas or 0) == 6)

    # Scale to 9: only the increase is placed.
    apps.patch_namespaced_deployment("web", "shop", {"spec": {"replicas": 9}})
    scaled = wait_for("decision for 9", lambda: (d := s.decision("shop")) and sum(d.values()) == 9 and d)
    assert all(scaled.get(c, 0) >= n for c, n in expected.items())
    wait_for("scaled copies", lambda: s.copies("shop") == scaled)

    # A member that stops answering loses its replicas after the grace period.
    lost = "member-2"
    stopped = next(m for m in kube_members if m.name == lost)
    stopped.stop()
    try:
        wait_for(f"{lost} not Ready", lambda: not ready(lost))
        moved = wait_for(
            "replicas moved", lambda: (d := s.decision("shop")) and lost not in d and d, timeout=60
        )
        assert moved == {"member-1": 9}
    finally:
        stopped.start()
    wait_for(f"{lost} Ready again", lambda: ready(lost))
    wait_for("stale copy removed from the returning member", lambda: s.copies("shop") == {"member-1": 9})

    # Delete upstream: every copy goes, then the finalizer, then the object.
    apps.delete_namespaced_deployment("web", "shop")

    def gone() -> bool:
        try:
            s.upstream("shop")
        except ApiException as err:
            return err.status == 404
        return False

    wait_for("upstream deleted", gone)
    assert s.copies("shop") == {}
    assert sum(s.copies("shop-b").values()) == 2  # the other namespace is untouched

    with urllib.request.urlopen(f"http://127.0.0.1:{controller.metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "tmc_placement_decisions_total" in text and "tmc_cluster_ready" in text
    assert controller.running
