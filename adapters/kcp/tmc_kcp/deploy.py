"""The deployment manifests of tmc-controller, built in Python so names, ports and metrics stay in step
with the code: least-privilege RBAC (hub, members, kcp), the controller Deployment, Prometheus rules.
Pure: returns manifests as dicts; ``tmc_kcp.generate`` writes them to deploy/.
"""

from __future__ import annotations

from typing import Any

from tmc_kcp.metrics import CLUSTER_READY, PLACEMENT_SECONDS, QUEUE_DEPTH, SYNC_ERRORS_TOTAL
from tmc_kcp.options import ControllerOptions
from tmc_kcp.schemas import EXPORT_NAME, GROUP

__all__ = [
    "IMAGE",
    "NAME",
    "NAMESPACE",
    "controller_manifests",
    "hub_rbac",
    "kcp_rbac",
    "member_rbac",
    "prometheus_rules",
]

NAME = "tmc-controller"
NAMESPACE = "tmc-system"
IMAGE = "tmc-controller:0.1.0"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "tmc"}
_READ = ["get", "list", "watch"]


def _meta(name: str, namespace: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespace:
        out["namespace"] = namespace
    return out


def _rule(
    groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        out["resourceNames"] = names
    return out


def _service_account() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, NAMESPACE)}


def _binding(kind: str, role: str, namespace: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{kind}Binding",
        "metadata": _meta(role, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }


def _role(kind: str, name: str, rules: list[dict[str, Any]], namespace: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, namespace),
        "rules": rules,
    }


def hub_rbac() -> list[dict[str, Any]]:
    """Namespace, ServiceAccount and the least the controller needs on a Kubernetes hub: read the
    registrations, placements and workloads, write their status, the workloads' finalizer, and (in its
    own namespace only) member Secrets and the leader Lease."""
    rules = [
        _rule([GROUP], ["clusterregistrations", "workloadplacements"], _READ),
        _rule(
            [GROUP], ["clusterregistrations/status", "workloadplacements/status"], ["get", "update", "patch"]
        ),
        _rule(["apps"], ["deployments"], [*_READ, "update", "patch"]),
        _rule(["apps"], ["deployments/status"], ["get", "update", "patch"]),
        _rule([""], ["namespaces"], _READ),
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE)},
        _service_account(),
        _role("ClusterRole", NAME, rules),
        _binding("ClusterRole", NAME),
        *_own_namespace(),
    ]


def _own_namespace() -> list[dict[str, Any]]:
    """Member Secrets and the leader Lease, in the controller's own namespace only."""
    local = [
        _rule([""], ["secrets"], _READ),
        _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update"]),
    ]
    return [_role("Role", NAME, local, NAMESPACE), _binding("Role", NAME, NAMESPACE)]


def member_rbac() -> list[dict[str, Any]]:
    """What tmc needs on each member cluster: its own namespaces and the workloads in them, and read
    access to nodes and pods for capacity discovery. Apply on the member; put the ServiceAccount's token
    into the hub Secret named after the ClusterRegistration."""
    rules = [
        _rule([""], ["namespaces"], [*_READ, "create", "update", "patch", "delete"]),
        _rule(["apps"], ["deployments"], [*_READ, "create", "update", "patch", "delete"]),
        _rule([""], ["nodes", "pods"], _READ),
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE)},
        _service_account(),
        _role("ClusterRole", f"{NAME}-member", rules),
        _binding("ClusterRole", f"{NAME}-member"),
    ]


def kcp_rbac(export: str = EXPORT_NAME) -> list[dict[str, Any]]:
    """For the provider workspace in kcp: read the APIExportEndpointSlice and act on the export's
    content (every bound workspace, through the virtual workspace); member Secrets and the Lease in
    its own namespace there."""
    rules = [
        _rule(["apis.kcp.io"], ["apiexportendpointslices"], _READ, [export]),
        _rule(["apis.kcp.io"], ["apiexports/content"], ["*"], [export]),
        _rule(["apis.kcp.io"], ["apiexports"], ["get"], [export]),
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE)},
        _service_account(),
        _role("ClusterRole", NAME, rules),
        _binding("ClusterRole", NAME),
        *_own_namespace(),
    ]


KCP_KUBECONFIG_SECRET = "tmc-kcp-kubeconfig"
"""The Secret (key ``kubeconfig``) holding the controller's kubeconfig for kcp, in kcp mode."""


def controller_manifests(
    options: ControllerOptions | None = None, *, kcp_export: str = ""
) -> list[dict[str, Any]]:
    """The controller Deployment (one replica at a time holds the Lease; two for fast fail-over) and a
    Service exposing its metrics. With ``kcp_export``, the controller runs beside kcp (in any cluster)
    against that APIExport, with its kcp kubeconfig from the Secret :data:`KCP_KUBECONFIG_SECRET`."""
    opts = options or ControllerOptions(member_secrets_namespace=NAMESPACE, lease_namespace=NAMESPACE)
    args = [
        f"--member-secrets-namespace={opts.member_secrets_namespace}",
        f"--solver={opts.solver}",
        f"--lease-namespace={opts.lease_namespace}",
        f"--metrics-port={opts.metrics_port}",
        f"--health-port={opts.health_port}",
    ]
    if kcp_export:
        args += [
            "--hub-kubeconfig=/etc/tmc/kcp/kubeconfig",
            f"--kcp-export={kcp_export}",
            f"--kcp-fleet-workspace={opts.kcp_fleet_workspace}",
        ]
    probe = {"periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3}
    container: dict[str, Any] = {
        "name": "controller",
        "image": IMAGE,
        "command": [NAME],
        "args": args,
        "ports": [
            {"name": "metrics", "containerPort": opts.metrics_port, "protocol": "TCP"},
            {"name": "health", "containerPort": opts.health_port, "protocol": "TCP"},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "health"},
            "initialDelaySeconds": 5,
            **probe,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, **probe},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    pod: dict[str, Any] = {
        "serviceAccountName": NAME,
        "containers": [container],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
    }
    if kcp_export:
        container["volumeMounts"] = [{"name": "kcp", "mountPath": "/etc/tmc/kcp", "readOnly": True}]
        pod["volumes"] = [{"name": "kcp", "secret": {"secretName": KCP_KUBECONFIG_SECRET}}]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, NAMESPACE),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": pod,
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(f"{NAME}-metrics", NAMESPACE),
        "spec": {
            "selector": {"app.kubernetes.io/name": NAME},
            "ports": [{"name": "metrics", "port": opts.metrics_port, "targetPort": "metrics"}],
        },
    }
    return [deployment, service]


def prometheus_rules() -> dict[str, Any]:
    """A prometheus-operator PrometheusRule alerting on the controller's own metrics."""

    def alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity},
            "annotations": {"summary": summary},
        }

    rules = [
        alert(
            "TmcClusterNotReady",
            f"{CLUSTER_READY} == 0",
            "5m",
            "warning",
            "member cluster {{ $labels.cluster }} is not Ready; its replicas move after the grace period",
        ),
        alert(
            "TmcSyncErrors",
            f"sum by (controller, cluster) (rate({SYNC_ERRORS_TOTAL}[10m])) > 0",
            "15m",
            "warning",
            "{{ $labels.controller }} keeps failing for cluster '{{ $labels.cluster }}'",
        ),
        alert(
            "TmcPlacementSlow",
            f"histogram_quantile(0.99, sum by (le) (rate({PLACEMENT_SECONDS}_bucket[10m]))) > 5",
            "15m",
            "warning",
            "99th percentile placement batch takes more than 5 s",
        ),
        alert(
            "TmcWorkQueueBacklog",
            f"{QUEUE_DEPTH} > 100",
            "15m",
            "warning",
            "{{ $labels.controller }} has a backlog of more than 100 keys",
        ),
        alert(
            "TmcControllerAbsent",
            f"absent({CLUSTER_READY}) and absent({QUEUE_DEPTH})",
            "10m",
            "critical",
            "no tmc-controller metrics are being scraped",
        ),
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta(NAME, NAMESPACE),
        "spec": {"groups": [{"name": "tmc-controller", "rules": rules}]},
    }
