"""Pure request builders and the mapping of API errors to typed exceptions."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tmc_kube import (
    AlreadyExists,
    Conflict,
    Gone,
    InvalidConfig,
    NotFound,
    ServerError,
    TooManyRequests,
    Unavailable,
)
from tmc_kube.errors import error_from_response
from tmc_kube.port import ObjectRef
from tmc_kube.rest import (
    APPLY_PATCH,
    Resource,
    apply_request,
    delete_request,
    list_request,
    resource_from_discovery,
    update_request,
    watch_request,
)

DEPLOYMENTS = Resource("apps/v1", "Deployment", "deployments", namespaced=True)
NODES = Resource("v1", "Node", "nodes", namespaced=False)


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_paths_for_core_and_group_kinds() -> None:
    assert DEPLOYMENTS.path("shop", "web") == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert NODES.path("", "n1", "status") == "/api/v1/nodes/n1/status"
    assert list_request(DEPLOYMENTS).path == "/apis/apps/v1/deployments"  # all namespaces


def test_apply_is_a_server_side_apply_patch_under_the_field_manager() -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
    }
    req = apply_request(DEPLOYMENTS, manifest, field_manager="tmc", force=True, dry_run=True)
    assert (req.method, req.content_type) == ("PATCH", APPLY_PATCH)
    assert urlsplit(req.path).path == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert _query(req.path) == {"fieldManager": ["tmc"], "force": ["true"], "dryRun": ["All"]}
    assert req.body == manifest
    plain = apply_request(DEPLOYMENTS, manifest, field_manager="tmc")
    assert _query(plain.path) == {"fieldManager": ["tmc"]}


def test_namespaced_object_without_namespace_is_named_in_one_line() -> None:
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    with pytest.raises(InvalidConfig) as err:
        update_request(DEPLOYMENTS, manifest)
    assert str(err.value) == "Deployment web: metadata.namespace: required for a namespaced kind"


def test_delete_carries_policy_and_preconditions() -> None:
    req = delete_request(
        DEPLOYMENTS,
        ObjectRef("apps/v1", "Deployment", "shop", "web"),
        propagation_policy="Foreground",
        resource_version="42",
        uid="u-1",
    )
    assert req.method == "DELETE"
    assert req.body["propagationPolicy"] == "Foreground"
    assert req.body["preconditions"] == {"resourceVersion": "42", "uid": "u-1"}
    with pytest.raises(ValueError, match="propagation policy"):
        delete_request(
            DEPLOYMENTS, ObjectRef("apps/v1", "Deployment", "shop", "web"), propagation_policy="Later"
        )  # type: ignore[arg-type]


def test_watch_asks_for_bookmarks_from_a_resource_version() -> None:
    req = watch_request(NODES, resource_version="17", label_selector="a=b", timeout_seconds=30)
    assert _query(req.path) == {
        "watch": ["true"],
        "allowWatchBookmarks": ["true"],
        "resourceVersion": ["17"],
        "labelSelector": ["a=b"],
        "timeoutSeconds": ["30"],
    }


def test_discovery_picks_the_main_resource_not_a_subresource() -> None:
    doc = {
        "resources": [
            {"name": "deployments/status", "kind": "Deployment", "namespaced": True},
            {"name": "deployments", "kind": "Deployment", "namespaced": True},
        ]
    }
    assert resource_from_discovery("apps/v1", "Deployment", doc) == DEPLOYMENTS
    with pytest.raises(NotFound, match="Widget"):
        resource_from_discovery("apps/v1", "Widget", doc)


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (404, "NotFound", NotFound),
        (429, "TooManyRequests", TooManyRequests),
        (503, "ServiceUnavailable", Unavailable),
        (500, "InternalError", ServerError),
    ],
)
def test_status_bodies_map_to_typed_errors(code: int, reason: str, expected: type[Exception]) -> None:
    body = json.dumps({"kind": "Status", "code": code, "reason": reason, "message": f"m{code}"})
    err = error_from_response(code, body)
    assert type(err) is expected
    assert (err.status, err.reason, str(err)) == (code, reason, f"m{code}")


def test_watch_error_event_and_retry_after() -> None:
    # A watch ERROR event carries a Status object; the HTTP status of the stream was 200.
    assert isinstance(
        error_from_response(200, {"code": 410, "reason": "Expired", "message": "too old"}), Gone
    )
    throttled = error_from_response(429, b"not json", retry_after="3")
    assert isinstance(throttled, TooManyRequests) and throttled.retry_after == 3.0
