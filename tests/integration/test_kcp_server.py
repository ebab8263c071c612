"""kcp built from Go modules serves workspaces: the fixture's kcp is real, not a stand-in."""

from __future__ import annotations

import time
import uuid

from kubernetes import client

from tests.integration import servers


def test_kcp_creates_a_workspace_that_becomes_ready(kcp_server: servers.KcpServer) -> None:
    name = f"tmc-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": "tenancy.kcp.io/v1alpha1",
        "kind": "Workspace",
        "metadata": {"name": name},
        "spec": {},
    }
    with kcp_server.api_client() as api:
        custom = client.CustomObjectsApi(api)
        custom.create_cluster_custom_object("tenancy.kcp.io", "v1alpha1", "workspaces", body)
        deadline = time.monotonic() + 60
        phase = None
        while time.monotonic() < deadline:
            got = custom.get_cluster_custom_object("tenancy.kcp.io", "v1alpha1", "workspaces", name)
            phase = got.get("status", {}).get("phase")
            if phase == "Ready":
                break
            time.sleep(0.5)
    assert phase == "Ready"
    assert got["spec"]["URL"].endswith(f"/clusters/root:{name}")
