"""What the end-to-end tests of tmc-controller share, whatever the hub (kube-apiserver or kcp):
polling, the member clusters' Nodes and merged kubeconfig, the scenario's Deployment and
WorkloadPlacement, the split tmc_core expects, member status written as a kubelet would, and the
controller process itself."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tmc_core.manifests import placement_from_manifest, workload_from_manifest
from tmc_core.model import Cluster
from tmc_core.placement import place_batch
from tmc_core.placement.task import PlacementTask

__all__ = [
    "CPU",
    "ControllerProcess",
    "add_nodes",
    "deployment",
    "expected_split",
    "merged_kubeconfig",
    "placement",
    "read_copies",
    "report_member_status",
    "wait_for",
]

T = TypeVar("T")
CPU = {"member-1": "8", "member-2": "4"}
"""Allocatable CPU of the one Node each member gets: a 6-replica, 500m workload divides 4 + 2."""


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 45.0) -> T:
    """Poll ``probe`` until it returns something truthy (an API error counts as not yet); else fail."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except ApiException as err:
            last = err  # kept for the failure message; an exception object is truthy, so test it
        if last and not isinstance(last, ApiException):
            return last  # type: ignore[no-any-return]
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})", pytrace=False)


def merged_kubeconfig(members: Sequence[servers.ApiServer], path: Path) -> Path:
    """One kubeconfig whose contexts are the members, by name (tmc's --member-kubeconfig)."""
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for m in members:
        part = yaml.safe_load(m.kubeconfig.read_text())
        for key in ("clusters", "users", "contexts"):
            doc[key].extend(part[key])
    doc["current-context"] = members[0].name
    path.write_text(yaml.safe_dump(doc))
    return path


def add_nodes(members: Mapping[str, Any]) -> None:
    """Give each member (name -> ApiClient) one Ready, untainted Node ``<name>-node`` of ``CPU[name]``
    cores (once: the members are shared by the test session); no kubelet runs, so the test writes the
    Node status itself."""
    for name, api in members.items():
        node = f"{name}-node"
        v1 = client.CoreV1Api(api)
        try:
            created = v1.create_node({"metadata": {"name": node}})
        except ApiException as err:
            if err.status == 409:
                continue
            raise
        created.status = client.V1NodeStatus(
            allocatable={"cpu": CPU[name], "memory": "32Gi", "pods": "110"},
            capacity={"cpu": CPU[name], "memory": "32Gi", "pods": "110"},
            conditions=[client.V1NodeCondition(type="Ready", status="True")],
        )
        v1.replace_node_status(node, created)
        # Admission taints new Nodes not-ready until a node-lifecycle controller clears it; none runs here.
        v1.patch_node(node, {"spec": {"taints": []}})


def deployment(namespace: str, replicas: int) -> dict[str, Any]:
    """The scenario's workload: ``namespace/web``, ``replicas`` of 500m CPU each."""
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


def placement(namespace: str) -> dict[str, Any]:
    """A WorkloadPlacement dividing ``namespace/web`` by available capacity."""
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


def expected_split(namespace: str, replicas: int) -> dict[str, int]:
    """What tmc_core decides for the scenario's workload on an empty fleet of the members' capacity."""
    fleet = [
        Cluster.model_validate({"name": n, "allocatable": {"cpu": cpu, "memory": "32Gi", "pods": "110"}})
        for n, cpu in CPU.items()
    ]
    policy = placement_from_manifest(placement(namespace)).placement
    task = PlacementTask(workload_from_manifest(deployment(namespace, replicas)), policy)
    return place_batch(fleet, [task])[0].replicas


def read_copies(members: Mapping[str, Any], namespace: str, name: str = "web") -> dict[str, int]:
    """Member name -> spec.replicas of its copy of ``namespace/name`` (members without one left out)."""
    out = {}
    for member, api in members.items():
        try:
            d = client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
        except ApiException as err:
            if err.status == 404:
                continue
            raise
        out[member] = d.spec.replicas
    return out


def report_member_status(
    api: Any, namespace: str, replicas: int, name: str = "web", *, ready: int | None = None
) -> None:
    """Write a member copy's status as its Deployment controller would once ``ready`` (default: all
    ``replicas``) are ready."""
    ready = replicas if ready is None else ready
    apps = client.AppsV1Api(api)
    copy_ = apps.read_namespaced_deployment(name, namespace)
    copy_.status = client.V1DeploymentStatus(
        replicas=replicas, ready_replicas=ready, available_replicas=ready, updated_replicas=replicas
    )
    apps.replace_namespaced_deployment_status(name, namespace, copy_)


class ControllerProcess:
    """``tmc-controller`` as its own process (``python -c ... run()``), logging to a file."""

    def __init__(self, args: Sequence[str], log_path: Path) -> None:
        self.log_path = log_path
        self.metrics_port = servers.free_port()
        self.health_port = servers.free_port()
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from tmc_kcp.controller_main import run; run()",
                *args,
                f"--metrics-port={self.metrics_port}",
                f"--health-port={self.health_port}",
                "--bind-address=127.0.0.1",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, wait, and print the log's tail (pytest shows it when a test failed)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()
        print(self.log_path.read_text(errors="replace")[-5000:])

    @classmethod
    @contextmanager
    def running_with(cls, args: Sequence[str], log_path: Path) -> Iterator[ControllerProcess]:
        """Run the controller for the ``with`` block; stopped (and its log tail printed) on exit."""
        controller = cls(args, log_path)
        try:
            yield controller
        finally:
            controller.stop()
