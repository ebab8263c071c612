"""Helpers of the tmc_kcp integration tests: install a CRD on a kube-apiserver and wait until it is
served; on a real kcp, make workspaces, install tmc's generated APIs in a provider workspace, bind
them in consumer workspaces, and read the export's virtual-workspace URLs."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tests.integration.e2e_support import wait_for
from tmc_kcp import schemas
from tmc_kube import AlreadyExists, KubeClient, ObjectRef

__all__ = [
    "DEPLOY_KCP",
    "bind",
    "create_all",
    "create_workspace",
    "deploy_documents",
    "establish",
    "install_export",
    "logical_cluster",
    "virtual_workspace_urls",
    "workspace_api",
    "workspace_kubeconfig",
]

DEPLOY_KCP = Path(__file__).resolve().parents[2] / "deploy" / "kcp"
"""The generated kcp manifests (kept fresh by tests/unit/test_kcp_schemas.py)."""
APIS = "apis.kcp.io"


def establish(api: Any, crd: dict[str, Any]) -> None:
    """Create ``crd`` (or accept that it exists) and wait until it is Established and structural."""
    ext = client.ApiextensionsV1Api(api)
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as err:
        if err.status != 409:
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = ext.read_custom_resource_definition(crd["metadata"]["name"])
        conditions = {c.type: c.status for c in (got.status.conditions or [])}
        if conditions.get("Established") == "True":
            if conditions.get("NonStructuralSchema") == "True":
                pytest.fail(f"{crd['metadata']['name']}: the server says the schema is not structural")
            return
        time.sleep(0.2)
    pytest.fail(f"{crd['metadata']['name']} not established within 30 s")


def workspace_api(kcp: servers.KcpServer, path: str) -> Any:
    """An ApiClient (kcp-admin) for the workspace ``path`` (``root:org:ws``) or a logical-cluster name."""
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(kcp.kubeconfig), context="base", client_configuration=configuration
    )
    # The loader's token refresh hook would load the kubeconfig again on every call, host included.
    configuration.refresh_api_key_hook = None
    configuration.host = f"{kcp.url}/clusters/{path}"
    return client.ApiClient(configuration)


def workspace_kubeconfig(kcp: servers.KcpServer, path: str, out: Path, token: str | None = None) -> Path:
    """A kubeconfig for workspace ``path`` with kcp's CA and ``token`` (kcp-admin's when None)."""
    admin = yaml.safe_load(kcp.kubeconfig.read_text())
    cluster = next(c["cluster"] for c in admin["clusters"] if c["name"] == "base")
    user = next(u["user"] for u in admin["users"] if u["name"] == "kcp-admin")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kcp", "cluster": {**cluster, "server": f"{kcp.url}/clusters/{path}"}}],
        "users": [{"name": "tmc", "user": {"token": token} if token else dict(user)}],
        "contexts": [{"name": path, "context": {"cluster": "kcp", "user": "tmc"}}],
        "current-context": path,
    }
    out.write_text(yaml.safe_dump(doc))
    return out


def create_workspace(kcp: servers.KcpServer, prefix: str) -> str:
    """A new child of root named ``<prefix>-<random>``, once Ready; its path (``root:<name>``)."""
    name = f"{prefix}-{uuid.uuid4().hex[:5]}"
    body = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}}
    with kcp.api_client("root") as api:
        custom = client.CustomObjectsApi(api)
        custom.create_cluster_custom_object("tenancy.kcp.io", "v1alpha1", "workspaces", body)

        def ready() -> bool:
            got = custom.get_cluster_custom_object("tenancy.kcp.io", "v1alpha1", "workspaces", name)
            return (got.get("status") or {}).get("phase") == "Ready"

        wait_for(f"workspace {name} Ready", ready, timeout=60.0)
    path = f"root:{name}"
    # Then until the workspace answers requests by its path (to be independent of when kcp indexes it).
    with workspace_api(kcp, path) as api:

        def serving() -> object:
            return client.CoreV1Api(api).list_namespace() or True

        wait_for(f"workspace {path} serving", serving, timeout=60.0)
    return path


def logical_cluster(api: Any) -> str:
    """The logical-cluster name of the workspace ``api`` points at (what ``kcp.io/cluster`` says)."""
    got = KubeClient(api).get(ObjectRef("core.kcp.io/v1alpha1", "LogicalCluster", "", "cluster"))
    return str(got["metadata"]["annotations"]["kcp.io/cluster"])


def create_all(api: Any, docs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Create every document (any kind the workspace serves; an existing one is left as it is)."""
    port = KubeClient(api)
    out = []
    for doc in docs:
        try:
            out.append(port.create(doc))
        except AlreadyExists:
            out.append(port.get(ObjectRef.of(doc)))
    return out


def deploy_documents(name: str) -> list[dict[str, Any]]:
    """The documents of the generated file deploy/kcp/``name``."""
    return [d for d in yaml.safe_load_all((DEPLOY_KCP / name).read_text()) if d]


def install_export(api: Any) -> dict[str, Any]:
    """Apply deploy/kcp's APIResourceSchemas and APIExport in the provider workspace ``api``; the
    export once kcp has given it an identity (``status.identityHash``, condition IdentityValid)."""
    create_all(api, deploy_documents("apiresourceschemas.yaml"))
    create_all(api, deploy_documents("apiexport.yaml"))
    custom = client.CustomObjectsApi(api)

    def identified() -> dict[str, Any] | None:
        got: dict[str, Any] = custom.get_cluster_custom_object(
            APIS, "v1alpha2", "apiexports", schemas.EXPORT_NAME
        )
        conditions = {c["type"]: c["status"] for c in (got.get("status") or {}).get("conditions") or ()}
        ok = (got.get("status") or {}).get("identityHash") and conditions.get("IdentityValid") == "True"
        return got if ok else None

    return wait_for("APIExport identity", identified, timeout=60.0)  # type: ignore[no-any-return]


def bind(api: Any, provider_path: str, *, binding: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create the APIBinding (deploy/kcp/apibinding.yaml pointed at ``provider_path``, claims accepted)
    in workspace ``api``; the binding once Bound, after Deployments are served there."""
    doc = copy.deepcopy(dict(binding or deploy_documents("apibinding.yaml")[0]))
    doc["spec"]["reference"]["export"]["path"] = provider_path
    create_all(api, [doc])
    custom = client.CustomObjectsApi(api)

    def bound() -> dict[str, Any] | None:
        got: dict[str, Any] = custom.get_cluster_custom_object(
            APIS, "v1alpha2", "apibindings", doc["metadata"]["name"]
        )
        return got if (got.get("status") or {}).get("phase") == "Bound" else None

    got = wait_for("APIBinding Bound", bound, timeout=60.0)
    wait_for(
        "Deployments served",
        lambda: client.AppsV1Api(api).list_deployment_for_all_namespaces() or True,
        timeout=60.0,
    )
    return got  # type: ignore[no-any-return]


def virtual_workspace_urls(api: Any) -> list[str]:
    """The export's virtual-workspace URLs from the APIExportEndpointSlice kcp made (once bound)."""
    custom = client.CustomObjectsApi(api)

    def urls() -> list[str]:
        got = custom.get_cluster_custom_object(
            APIS, "v1alpha1", "apiexportendpointslices", schemas.EXPORT_NAME
        )
        return [e["url"] for e in (got.get("status") or {}).get("endpoints") or () if e.get("url")]

    return wait_for("APIExportEndpointSlice endpoints", urls, timeout=60.0)  # type: ignore[no-any-return]
