"""End to end on real servers: the tmc-controller process against a kube-apiserver hub with tmc's CRDs
and two member kube-apiservers (no kubelets: Nodes are registered by hand, member status is written
by the test, as a kubelet and the Deployment controller would).

One scenario, as the issue lists it: register both members; a Deployment of 6 split by available
capacity; the split downstream in the mapped namespace; member status aggregated upstream; scale to 9
places only the increase; a stopped member loses its replicas after the grace period; delete upstream
removes every copy and releases the finalizer. A second namespace runs beside it and stays untouched.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from tmc_kcp import schemas

from tests.integration import servers
from tests.integration.kcp_support import establish
from tmc_core.manifests import cluster_manifest, placement_from_manifest, workload_from_manifest
from tmc_core.model import Cluster, Decision
from tmc_core.placement import place_batch
from tmc_core.placement.task import PlacementTask
from tmc_core.sync import FINALIZER, downstream_namespace

pytestmark = pytest.mark.integration

T = TypeVar("T")
GRACE_S = 4
CPU = {0: "8", 1: "4"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except ApiException as err:
            last = err
        if last:
            return last  # type: ignore[no-any-return]
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})", pytrace=False)


def _merged_kubeconfig(members: list[servers.ApiServer], path: Path) -> Path:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for m in members:
        part = yaml.safe_load(m.kubeconfig.read_text())
        for key in ("clusters", "users", "contexts"):
            doc[key].extend(part[key])
    doc["current-context"] = members[0].name
    path.write_text(yaml.safe_dump(doc))
    return path


def _deployment(namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "500m"}}}
                    ]
                },
            },
        },
    }


def _placement(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "tmc.kcp.io/v1alpha1",
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
        out = {}
        for name, api in self.members.items():
            try:
                d = client.AppsV1Api(api).read_namespaced_deployment(
                    "web", downstream_namespace("", namespace)
                )
            except ApiException as err:
                if err.status == 404:
                    continue
                raise
            out[name] = d.spec.replicas
        return out

    def upstream(self, namespace: str) -> Any:
        return client.AppsV1Api(self.hub).read_namespaced_deployment("web", namespace)


@pytest.fixture(scope="module")
def running(
    kube_hub: servers.ApiServer,
    kube_members: list[servers.ApiServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scenario, int, subprocess.Popen[bytes]]]:
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
    for i, (name, api) in enumerate(member_apis.items()):
        node = f"{name}-node-{uuid.uuid4().hex[:4]}"
        v1 = client.CoreV1Api(api)
        created = v1.create_node({"metadata": {"name": node}})
        created.status = client.V1NodeStatus(
            allocatable={"cpu": CPU[i], "memory": "32Gi", "pods": "110"},
            capacity={"cpu": CPU[i], "memory": "32Gi", "pods": "110"},
            conditions=[client.V1NodeCondition(type="Ready", status="True")],
        )
        v1.replace_node_status(node, created)
        # Admission taints new Nodes not-ready until a node-lifecycle controller clears it; none runs here.
        v1.patch_node(node, {"spec": {"taints": []}})
    metrics_port, health_port = _free_port(), _free_port()
    log = open(tmp / "controller.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tmc_kcp.controller_main import run; run()",
            f"--hub-kubeconfig={kube_hub.kubeconfig}",
            f"--member-kubeconfig={_merged_kubeconfig(kube_members, tmp / 'members.kubeconfig')}",
            f"--grace-period={GRACE_S}s",
            "--heartbeat-interval=1s",
            "--resync-period=30s",
            f"--metrics-port={metrics_port}",
            f"--health-port={health_port}",
            "--bind-address=127.0.0.1",
            "--lease-namespace=tmc-system",
            "--log-level=INFO",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield Scenario(hub_api, member_apis), metrics_port, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        print((tmp / "controller.log").read_text()[-5000:])


def _expected(namespace: str, replicas: int) -> dict[str, int]:
    """What tmc_core decides for this workload on an empty fleet of the members' capacity."""
    fleet = [
        Cluster.model_validate({"name": n, "allocatable": {"cpu": CPU[i], "memory": "32Gi", "pods": "110"}})
        for i, n in enumerate(("member-1", "member-2"))
    ]
    placement = placement_from_manifest(_placement(namespace))
    task = PlacementTask(workload_from_manifest(_deployment(namespace, replicas)), placement.placement)
    return place_batch(fleet, [task])[0].replicas


def test_issue_scenario_end_to_end(
    running: tuple[Scenario, int, subprocess.Popen[bytes]], kube_members: list[servers.ApiServer]
) -> None:
    s, metrics_port, process = running
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
        apps.create_namespaced_deployment(ns, _deployment(ns, replicas))
        objects.create_namespaced_custom_object(
            "tmc.kcp.io", "v1alpha1", ns, "workloadplacements", _placement(ns)
        )

    # 6 replicas divided by available capacity, and the split downstream in the mapped namespace.
    expected = _expected("shop", 6)
    assert wait_for("decision for shop", lambda: s.decision("shop")) == expected
    wait_for("copies of shop", lambda: s.copies("shop") == expected)
    other = wait_for("copies of shop-b", lambda: s.copies("shop-b") or None)
    assert sum(other.values()) == 2
    assert FINALIZER in (s.upstream("shop").metadata.finalizers or [])

    # Member status is folded back upstream.
    for name, replicas in expected.items():
        member_apps = client.AppsV1Api(s.members[name])
        ns = downstream_namespace("", "shop")
        copy_ = member_apps.read_namespaced_deployment("web", ns)
        copy_.status = client.V1DeploymentStatus(
            replicas=replicas, ready_replicas=replicas, available_replicas=replicas, updated_replicas=replicas
        )
        member_apps.replace_namespaced_deployment_status("web", ns, copy_)
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

    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "tmc_placement_decisions_total" in text and "tmc_cluster_ready" in text
    assert process.poll() is None
