"""Pure request builders: (resource, object, options) -> the HTTP request the API server expects.

No I/O here; :mod:`tmc_kube.kube_client` sends what these return. Keeping them pure lets the unit
tests pin paths, query strings and bodies exactly (server-side apply content type, delete options,
watch bookmarks) without a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tmc_kube.errors import InvalidConfig, NotFound
from tmc_kube.port import ObjectRef, PropagationPolicy

__all__ = [
    "APPLY_PATCH",
    "Request",
    "Resource",
    "apply_request",
    "create_request",
    "delete_request",
    "discovery_path",
    "get_request",
    "list_request",
    "resource_from_discovery",
    "update_request",
    "watch_request",
]

APPLY_PATCH = "application/apply-patch+yaml"
"""Content type of server-side apply (JSON is valid YAML, so the body is JSON)."""


@dataclass(frozen=True)
class Resource:
    """One REST resource as discovery describes it: ``apps/v1`` ``deployments``, namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """``/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]``."""
        base = f"/apis/{self.api_version}" if "/" in self.api_version else f"/api/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base


@dataclass(frozen=True)
class Request:
    """One HTTP request: method, path with query string, JSON body, content type."""

    method: str
    path: str
    body: Any = field(default=None)
    content_type: str = "application/json"


def discovery_path(api_version: str) -> str:
    """Where the resources of one group/version are listed."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def resource_from_discovery(api_version: str, kind: str, doc: Mapping[str, Any]) -> Resource:
    """Pick ``kind``'s main resource (not a subresource) from an APIResourceList document."""
    for item in doc.get("resources") or []:
        if item.get("kind") == kind and "/" not in str(item.get("name", "")):
            return Resource(api_version, kind, str(item["name"]), bool(item.get("namespaced")))
    raise NotFound(f"the server does not serve kind {kind} in {api_version}", reason="NotFound")


def _query(**params: Any) -> str:
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", False)]
    pairs = [(k, "true" if v is True else str(v)) for k, v in pairs]
    return f"?{urlencode(pairs)}" if pairs else ""


def _namespace_of(resource: Resource, namespace: str, what: str) -> str:
    if resource.namespaced and not namespace:
        raise InvalidConfig(
            "required for a namespaced kind", obj=f"{resource.kind} {what}", path="metadata.namespace"
        )
    return namespace if resource.namespaced else ""


def get_request(resource: Resource, ref: ObjectRef) -> Request:
    """GET one object."""
    ns = _namespace_of(resource, ref.namespace, ref.name)
    return Request("GET", resource.path(ns, ref.name))


def list_request(
    resource: Resource, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
) -> Request:
    """GET a collection (all namespaces when ``namespace`` is empty)."""
    q = _query(labelSelector=label_selector, fieldSelector=field_selector)
    return Request("GET", resource.path(namespace if resource.namespaced else "") + q)


def watch_request(
    resource: Resource,
    *,
    namespace: str = "",
    resource_version: str = "",
    label_selector: str = "",
    field_selector: str = "",
    timeout_seconds: int | None = None,
) -> Request:
    """GET a watch stream from ``resource_version``, with bookmarks so idle watches keep it fresh."""
    q = _query(
        watch=True,
        allowWatchBookmarks=True,
        resourceVersion=resource_version,
        labelSelector=label_selector,
        fieldSelector=field_selector,
        timeoutSeconds=timeout_seconds,
    )
    return Request("GET", resource.path(namespace if resource.namespaced else "") + q)


def _dry(dry_run: bool) -> str:
    return "All" if dry_run else ""


def create_request(resource: Resource, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Request:
    """POST a new object to its collection."""
    ref = ObjectRef.of(manifest)
    ns = _namespace_of(resource, ref.namespace, ref.name)
    return Request("POST", resource.path(ns) + _query(dryRun=_dry(dry_run)), dict(manifest))


def update_request(
    resource: Resource, manifest: Mapping[str, Any], *, subresource: str = "", dry_run: bool = False
) -> Request:
    """PUT the whole object (or its ``status``); its resourceVersion is the precondition."""
    ref = ObjectRef.of(manifest)
    ns = _namespace_of(resource, ref.namespace, ref.name)
    return Request(
        "PUT", resource.path(ns, ref.name, subresource) + _query(dryRun=_dry(dry_run)), dict(manifest)
    )


def apply_request(
    resource: Resource,
    manifest: Mapping[str, Any],
    *,
    field_manager: str,
    force: bool = False,
    subresource: str = "",
    dry_run: bool = False,
) -> Request:
    """PATCH with server-side apply under ``field_manager``; ``force`` takes over conflicting fields."""
    if not field_manager:
        raise ValueError("server-side apply needs a field manager")
    ref = ObjectRef.of(manifest)
    ns = _namespace_of(resource, ref.namespace, ref.name)
    q = _query(fieldManager=field_manager, force=force, dryRun=_dry(dry_run))
    return Request("PATCH", resource.path(ns, ref.name, subresource) + q, dict(manifest), APPLY_PATCH)


def delete_request(
    resource: Resource,
    ref: ObjectRef,
    *,
    propagation_policy: PropagationPolicy = "Background",
    resource_version: str = "",
    uid: str = "",
    dry_run: bool = False,
) -> Request:
    """DELETE with DeleteOptions: propagation policy and resourceVersion/uid preconditions."""
    if propagation_policy not in ("Foreground", "Background", "Orphan"):
        raise ValueError(
            f"propagation policy must be Foreground, Background or Orphan, not {propagation_policy!r}"
        )
    ns = _namespace_of(resource, ref.namespace, ref.name)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": propagation_policy,
    }
    pre = {k: v for k, v in (("resourceVersion", resource_version), ("uid", uid)) if v}
    if pre:
        body["preconditions"] = pre
    if dry_run:
        body["dryRun"] = ["All"]
    return Request("DELETE", resource.path(ns, ref.name), body)
