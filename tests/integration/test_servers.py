"""The harness itself: servers accept admin credentials, keep their data apart, survive restarts."""

from __future__ import annotations

import uuid

from kubernetes import client

from tests.integration import servers


def test_each_server_is_a_separate_cluster(
    kube_hub: servers.ApiServer, kube_members: list[servers.ApiServer]
) -> None:
    name = f"only-on-hub-{uuid.uuid4().hex[:8]}"
    with kube_hub.api_client() as api:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    for member in kube_members:
        with member.api_client() as api:
            names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        assert name not in names


def test_token_credentials_are_accepted(kube_hub: servers.ApiServer) -> None:
    configuration = client.Configuration()
    configuration.host = kube_hub.url
    configuration.ssl_ca_cert = str(kube_hub.ca_file)
    configuration.api_key = {"authorization": f"Bearer {kube_hub.token}"}
    with client.ApiClient(configuration) as api:
        review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status.user_info.username == "tmc-token-admin"


def test_data_survives_a_restart(kube_members: list[servers.ApiServer]) -> None:
    member = kube_members[0]
    name = f"kept-{uuid.uuid4().hex[:8]}"
    with member.api_client() as api:
        created = client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
        )
    member.restart()
    with member.api_client() as api:
        again = client.CoreV1Api(api).read_namespace(name)
    assert again.metadata.uid == created.metadata.uid
