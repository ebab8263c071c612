"""Connections against a real kube-apiserver: a Secret-held token, TLS verified for real."""

from __future__ import annotations

import base64

import pytest

from tests.integration import servers
from tmc_kube import Connection, KubeClient, Unauthorized, Unavailable, connect

pytestmark = pytest.mark.integration


def _secret(server: servers.ApiServer, token: str, ca: bytes | None) -> dict[str, object]:
    data = {"server": server.url.encode(), "token": token.encode()}
    if ca is not None:
        data["ca.crt"] = ca
    return {
        "metadata": {"name": server.name, "namespace": "tmc"},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def test_token_from_a_secret_with_the_servers_ca(kube_hub: servers.ApiServer) -> None:
    conn = Connection.from_secret(_secret(kube_hub, kube_hub.token, kube_hub.ca_file.read_bytes()))
    with connect(conn) as c:
        names = {ns["metadata"]["name"] for ns in KubeClient(c.api_client).list("v1", "Namespace").items}
    assert "default" in names
    assert kube_hub.token not in repr(conn)


def test_a_wrong_token_is_unauthorized(kube_hub: servers.ApiServer) -> None:
    conn = Connection.from_secret(_secret(kube_hub, "not-the-token", kube_hub.ca_file.read_bytes()))
    with connect(conn) as c, pytest.raises(Unauthorized):
        KubeClient(c.api_client).list("v1", "Namespace")


def test_tls_is_verified_unless_explicitly_disabled(
    kube_hub: servers.ApiServer, kube_members: list[servers.ApiServer]
) -> None:
    other_ca = kube_members[0].ca_file.read_bytes()  # a CA that did not sign the hub's certificate
    wrong_ca = connect(Connection.from_secret(_secret(kube_hub, kube_hub.token, other_ca)))
    with wrong_ca as c, pytest.raises(Unavailable, match=r"(?i)certificate.verify.failed"):
        KubeClient(c.api_client).list("v1", "Namespace")
    # No CA bundle: the system trust store, which does not know the loopback CA.
    with (
        connect(Connection.from_secret(_secret(kube_hub, kube_hub.token, None))) as c,
        pytest.raises(Unavailable),
    ):
        KubeClient(c.api_client).list("v1", "Namespace")
    insecure = Connection(
        name="hub", server=kube_hub.url, token=kube_hub.token, insecure_skip_tls_verify=True
    )
    with connect(insecure) as c:
        assert KubeClient(c.api_client).list("v1", "Namespace").items
