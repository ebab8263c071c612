"""Session fixtures that start real API servers on loopback: one hub and two member kube-apiservers.

The servers start once per test session (about a second each once the binary is cached) and are
stopped and their files removed afterwards, also when a test fails. Without Go or etcd the whole
integration suite is skipped with one line saying what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration import servers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs real servers: mark it so the default run leaves it out."""
    for item in items:
        if "tests/integration/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kube_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.ServerSet]:
    """etcd plus three kube-apiservers: `hub`, `member-1`, `member-2`."""
    reason = servers.missing_prerequisites()
    if reason:
        pytest.skip(reason)
    with servers.ServerSet.running(
        ["hub", "member-1", "member-2"], tmp_path_factory.mktemp("servers")
    ) as running:
        yield running


@pytest.fixture(scope="session")
def kube_hub(kube_servers: servers.ServerSet) -> servers.ApiServer:
    """The hub API server (where WorkloadPlacements and upstream workloads live)."""
    return kube_servers.hub


@pytest.fixture(scope="session")
def kube_members(kube_servers: servers.ServerSet) -> list[servers.ApiServer]:
    """Two member-cluster API servers."""
    return kube_servers.members


@pytest.fixture(scope="session")
def kcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.KcpServer]:
    """kcp with its embedded etcd; its admin kubeconfig's `root` context is the root workspace."""
    reason = servers.kcp_missing()
    if reason:
        pytest.skip(reason)
    server = servers.KcpServer(tmp_path_factory.mktemp("kcp"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
