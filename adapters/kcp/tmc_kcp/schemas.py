"""The project's APIs as Kubernetes and kcp resources, generated from tmc_core's pydantic models.

One source of truth: the ClusterRegistration and WorkloadPlacement schemas are derived from
``tmc_core.model.Cluster`` and ``tmc_core.model.WorkloadPlacement`` and rewritten into the structural
OpenAPI v3 form that apiextensions and kcp accept (every ``$ref`` inlined, no ``anyOf`` except the
int-or-string pattern, no defaults, one type per node). The same schemas become CustomResourceDefinitions
for a plain Kubernetes hub and APIResourceSchemas plus an APIExport for kcp. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tmc_core.model import Cluster, WorkloadPlacement

__all__ = [
    "CLUSTER_SPEC_FIELDS",
    "CLUSTER_STATUS_FIELDS",
    "EXPORT_NAME",
    "GROUP",
    "VERSION",
    "ApiKind",
    "api_binding",
    "api_export",
    "api_resource_schema",
    "cluster_registration_kind",
    "crd",
    "deployment_kind",
    "kube_structural",
    "schema_name",
    "structural",
    "tmc_kinds",
    "workload_placement_kind",
]

GROUP = "tmc.kcp.io"
VERSION = "v1alpha1"
EXPORT_NAME = "tmc.kcp.io"

CLUSTER_SPEC_FIELDS = ("provider", "region", "zone", "taints", "properties", "apiResources")
"""Cluster fields a ClusterRegistration keeps in ``spec`` (as ``tmc_core.manifests`` reads them)."""
CLUSTER_STATUS_FIELDS = ("allocatable", "allocated", "conditions")
"""Cluster fields a ClusterRegistration keeps in ``status``."""

# Keywords an apiextensions v1 JSONSchemaProps may carry and that tmc's schemas use.
_KEPT = (
    "description",
    "type",
    "format",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "required",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
)
_INT_OR_STRING = {"x-kubernetes-int-or-string": True}
NAMESPACE_CLAIM = {"group": "", "resource": "namespaces", "verbs": ["get", "list", "watch"]}
"""What the APIExport claims in bound workspaces: reading namespaces (their labels go downstream)."""
_NUMERIC = {"integer", "number"}


def _deref(node: Mapping[str, Any], defs: Mapping[str, Any], prefix: str) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref {ref!r}")
    target = defs[ref[len(prefix) :]]
    merged = dict(target)
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return _deref(merged, defs, prefix) if "$ref" in target else merged


def _is_null(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "null"


def _types(node: Mapping[str, Any]) -> set[str]:
    t = node.get("type")
    if isinstance(t, list):
        return {x for x in t if x != "null"}
    return {t} if isinstance(t, str) and t != "null" else set()


@dataclass
class _Converter:
    """Rewrites one JSON schema family (pydantic's ``$defs`` or Kubernetes' definitions) node by node."""

    defs: Mapping[str, Any]
    prefix: str
    opaque: frozenset[str] = frozenset()
    """Definition names kept as free-form objects (``x-kubernetes-preserve-unknown-fields``)."""
    int_or_string: frozenset[str] = frozenset()
    """Definition names that are Kubernetes int-or-string values (IntOrString, Quantity)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Property name -> default, for list-map keys Kubernetes defaults in Go (``protocol: TCP``)."""

    def convert(self, node: Mapping[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(self.prefix):
            name = ref[len(self.prefix) :]
            if name in self.int_or_string:
                return self._with_description(dict(_INT_OR_STRING), node)
            if name in self.opaque:
                out = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                return self._with_description(out, node)
        node = _deref(node, self.defs, self.prefix)
        for junctor in ("anyOf", "oneOf"):
            if junctor in node:
                return self._union(node, junctor)
        if "allOf" in node:
            parts = node["allOf"]
            if len(parts) != 1:
                raise ValueError("allOf with more than one schema cannot be made structural")
            merged = dict(node)
            del merged["allOf"]
            inner = self.convert(parts[0])
            inner.update(self._plain(merged))
            return inner
        return self._plain(node)

    def _with_description(self, out: dict[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(node.get("description"), str):
            out["description"] = node["description"]
        return out

    def _union(self, node: Mapping[str, Any], junctor: str) -> dict[str, Any]:
        branches = [_deref(b, self.defs, self.prefix) for b in node[junctor]]
        real = [b for b in branches if not _is_null(b)]
        nullable = len(real) < len(branches)
        kinds = set().union(*(_types(b) for b in real)) if real else set()
        if len(real) > 1 and "string" in kinds and kinds - {"string"} <= _NUMERIC and len(kinds) == 2:
            out = self._with_description(dict(_INT_OR_STRING), node)
        elif len(real) == 1:
            outer = {k: v for k, v in node.items() if k != junctor}
            out = self.convert({**real[0], **outer})
        else:
            raise ValueError(f"{junctor} over {sorted(kinds)} cannot be made structural")
        if nullable:
            out["nullable"] = True
        return out

    def _plain(self, node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in _KEPT:
            if key in node:
                out[key] = copy.deepcopy(node[key])
        if "const" in node:
            out["enum"] = [node["const"]]
        kinds = _types(node)
        if isinstance(node.get("type"), list):
            if len(kinds) != 1:
                raise ValueError(f"type {node['type']} cannot be made structural")
            out["type"] = kinds.pop()
            if "null" in node["type"]:
                out["nullable"] = True
        if "enum" in out:
            out["enum"] = [v for v in out["enum"] if v is not None]
        if "properties" in node:
            out["type"] = "object"
            out["properties"] = {k: self.convert(v) for k, v in node["properties"].items()}
            self._list_map_keys(out)
        additional = node.get("additionalProperties")
        if isinstance(additional, Mapping) and "properties" not in node:
            out["type"] = "object"
            out["additionalProperties"] = self.convert(additional)
        if "items" in node:
            out["type"] = "array"
            out["items"] = self.convert(node["items"])
        if "type" not in out and not out.get("x-kubernetes-int-or-string"):
            out["type"] = "object"
            out["x-kubernetes-preserve-unknown-fields"] = True
        if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
            out["x-kubernetes-preserve-unknown-fields"] = True
        return out

    def _list_map_keys(self, obj: dict[str, Any]) -> None:
        """A ``map`` list's keys must be required or defaulted in a CRD; default them when Kubernetes
        does in Go, else fall back to an atomic list (the server then replaces the list whole)."""
        for prop in obj["properties"].values():
            if prop.get("x-kubernetes-list-type") != "map":
                continue
            item = prop.get("items", {})
            keys = prop.get("x-kubernetes-list-map-keys", [])
            required = set(item.get("required", ()))
            for key in keys:
                if key in required or "default" in item.get("properties", {}).get(key, {}):
                    continue
                if key in self.defaults and key in item.get("properties", {}):
                    item["properties"][key]["default"] = self.defaults[key]
                    continue
                prop["x-kubernetes-list-type"] = "atomic"
                prop.pop("x-kubernetes-list-map-keys", None)
                break


def structural(model_schema: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's JSON schema of a model -> a structural OpenAPI v3 schema (refs inlined, no defaults,
    ``T | None`` as ``nullable``, ``str | number`` as int-or-string)."""
    defs = model_schema.get("$defs", {})
    body = {k: v for k, v in model_schema.items() if k != "$defs"}
    return _Converter(defs, "#/$defs/").convert(body)


def _strip(node: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """A schema node without the keywords ``keys``, recursively (property names are left alone)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in keys:
            continue
        if key == "properties":
            out[key] = {name: _strip(sub, keys) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _strip(value, keys)
        else:
            out[key] = value
    return out


def kube_structural(
    definitions: Mapping[str, Any], name: str, *, descriptions: bool = True
) -> dict[str, Any]:
    """One Kubernetes type from the Kubernetes JSON schema definitions (as shipped by
    kubernetes-validate: ``$defs`` keyed ``io.k8s.api.apps.v1.Deployment``) as a structural schema.

    Quantities and IntOrStrings become int-or-string; nested ObjectMeta is kept free-form (only the
    root's metadata is the server's); the root's metadata becomes a bare object, as apiextensions wants.
    Kubernetes' JSON schemas mark every optional field nullable; that is dropped (apiextensions forbids it
    on list-map items and keys, and the built-in API has no such marker either).
    ``descriptions=False`` leaves out the documentation (a fifth of the size for a Deployment).
    """
    converter = _Converter(
        definitions,
        "#/$defs/",
        opaque=frozenset(
            {
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "io.k8s.apimachinery.pkg.runtime.RawExtension",
                "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
            }
        ),
        int_or_string=frozenset(
            {
                "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                "io.k8s.apimachinery.pkg.api.resource.Quantity",
            }
        ),
        defaults={"protocol": "TCP"},
    )
    out = converter.convert({"$ref": f"#/$defs/{name}"})
    props = out.get("properties", {})
    if "metadata" in props:
        props["metadata"] = {"type": "object"}
    for key in ("apiVersion", "kind"):
        if key in props:
            props[key] = {k: v for k, v in props[key].items() if k in ("type", "description")}
    return _strip(out, frozenset({"nullable"} if descriptions else {"nullable", "description"}))


def _object(properties: Mapping[str, Any], description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if description:
        out["description"] = description
    return out


def _root(spec: dict[str, Any], status: dict[str, Any], description: str) -> dict[str, Any]:
    return _object(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        description,
    )


@dataclass(frozen=True)
class ApiKind:
    """One API type: names, scope, the structural schema of one version and its printer columns."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    scope: str
    schema: dict[str, Any]
    columns: tuple[dict[str, Any], ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: dict[str, Any] = field(default_factory=lambda: {"status": {}})

    @property
    def names(self) -> dict[str, Any]:
        """The CRD ``names`` block."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "listKind": f"{self.kind}List",
            "plural": self.plural,
            "singular": self.singular,
        }
        if self.short_names:
            out["shortNames"] = list(self.short_names)
        if self.categories:
            out["categories"] = list(self.categories)
        return out

    def version_block(self) -> dict[str, Any]:
        """The ``versions[0]`` entry shared by CRDs and APIResourceSchemas."""
        out: dict[str, Any] = {
            "name": self.version,
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": self.schema},
            "subresources": copy.deepcopy(self.subresources),
        }
        if self.columns:
            out["additionalPrinterColumns"] = [dict(c) for c in self.columns]
        return out


def _age() -> dict[str, Any]:
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def cluster_registration_kind() -> ApiKind:
    """ClusterRegistration (cluster-scoped): a member cluster, its topology, capacity and health."""
    cluster = structural(Cluster.model_json_schema(by_alias=True))
    props = cluster["properties"]
    spec = {k: props[k] for k in CLUSTER_SPEC_FIELDS}
    # Properties are numbers that manifests write as strings ("0.12"), like quantities.
    spec["properties"] = {
        "type": "object",
        "description": "numeric cluster properties for prioritizers, e.g. {cost: '0.12', latencyMs: '20'}",
        "additionalProperties": dict(_INT_OR_STRING),
    }
    status = {k: props[k] for k in CLUSTER_STATUS_FIELDS}
    ready = '.status.conditions[?(@.type=="Ready")]'
    return ApiKind(
        group=GROUP,
        version=VERSION,
        kind="ClusterRegistration",
        plural="clusterregistrations",
        singular="clusterregistration",
        scope="Cluster",
        schema=_root(
            _object(spec, "where the cluster is and what it offers, as the placement filters read it"),
            _object(status, "capacity and health, written by the cluster-registration controller"),
            cluster.get("description", ""),
        ),
        columns=(
            {"name": "Provider", "type": "string", "jsonPath": ".spec.provider"},
            {"name": "Region", "type": "string", "jsonPath": ".spec.region"},
            {"name": "Zone", "type": "string", "jsonPath": ".spec.zone", "priority": 1},
            {"name": "Ready", "type": "string", "jsonPath": f"{ready}.status"},
            {"name": "Reason", "type": "string", "jsonPath": f"{ready}.reason", "priority": 1},
            _age(),
        ),
        short_names=("creg",),
        categories=("tmc",),
    )


def workload_placement_kind() -> ApiKind:
    """WorkloadPlacement (namespaced): which workloads, the placement policy, the current decisions."""
    placement = structural(WorkloadPlacement.model_json_schema(by_alias=True))
    props = placement["properties"]
    spec = _object(
        {"resourceSelectors": props["resourceSelectors"], "placement": props["placement"]},
        "which workloads are placed, and how",
    )
    spec["required"] = ["resourceSelectors"]
    status = _object(
        {"decisions": props["decisions"], "observedPlacement": props["observedPlacement"]},
        "the current decisions (decision records with explanations), written by the placement controller",
    )
    return ApiKind(
        group=GROUP,
        version=VERSION,
        kind="WorkloadPlacement",
        plural="workloadplacements",
        singular="workloadplacement",
        scope="Namespaced",
        schema=_root(spec, status, placement.get("description", "")),
        columns=(
            {"name": "Pick", "type": "string", "jsonPath": ".spec.placement.placementType"},
            {
                "name": "Replicas",
                "type": "string",
                "jsonPath": ".spec.placement.replicaScheduling.replicaSchedulingType",
            },
            {"name": "Observed", "type": "string", "jsonPath": ".status.observedPlacement", "priority": 1},
            _age(),
        ),
        short_names=("wp",),
        categories=("tmc",),
    )


def deployment_kind(definitions: Mapping[str, Any]) -> ApiKind:
    """apps/v1 Deployment, for kcp workspaces (which have none built in), from Kubernetes' schema."""
    return ApiKind(
        group="apps",
        version="v1",
        kind="Deployment",
        plural="deployments",
        singular="deployment",
        scope="Namespaced",
        schema=kube_structural(definitions, "io.k8s.api.apps.v1.Deployment", descriptions=False),
        columns=(
            {"name": "Ready", "type": "integer", "jsonPath": ".status.readyReplicas"},
            {"name": "Up-to-date", "type": "integer", "jsonPath": ".status.updatedReplicas"},
            {"name": "Available", "type": "integer", "jsonPath": ".status.availableReplicas"},
            _age(),
        ),
        short_names=("deploy",),
        categories=("all",),
        subresources={
            "status": {},
            "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        },
    )


def tmc_kinds() -> tuple[ApiKind, ...]:
    """The project's own kinds, in the order manifests list them."""
    return (cluster_registration_kind(), workload_placement_kind())


def crd(kind: ApiKind) -> dict[str, Any]:
    """An ``apiextensions.k8s.io/v1`` CustomResourceDefinition for a plain Kubernetes hub."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.group}"},
        "spec": {
            "group": kind.group,
            "names": kind.names,
            "scope": kind.scope,
            "versions": [kind.version_block()],
        },
    }


def _spec_of_schema(kind: ApiKind) -> dict[str, Any]:
    # An APIResourceSchema version holds the OpenAPI schema itself under ``schema`` (kcp rejects the
    # CRD's ``schema.openAPIV3Schema`` wrapper: "openAPIV3Schema.type: must not be empty at the root").
    version = kind.version_block()
    version["schema"] = version["schema"]["openAPIV3Schema"]
    return {
        "group": kind.group,
        "names": kind.names,
        "scope": kind.scope,
        "versions": [version],
    }


def schema_name(kind: ApiKind) -> str:
    """``<version>-<hash>.<plural>.<group>``: kcp's APIResourceSchemas are immutable, so the stamp is a
    hash of the spec and changes exactly when the schema does (kcp requires ``<prefix>.<plural>.<group>``)."""
    digest = hashlib.sha256(
        json.dumps(_spec_of_schema(kind), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f"{kind.version}-{digest[:8]}.{kind.plural}.{kind.group or 'core'}"


def api_resource_schema(kind: ApiKind) -> dict[str, Any]:
    """An ``apis.kcp.io/v1alpha1`` APIResourceSchema, for the provider workspace of a kcp hub."""
    return {
        "apiVersion": "apis.kcp.io/v1alpha1",
        "kind": "APIResourceSchema",
        "metadata": {"name": schema_name(kind)},
        "spec": _spec_of_schema(kind),
    }


def api_export(kinds: tuple[ApiKind, ...], name: str = EXPORT_NAME) -> dict[str, Any]:
    """The ``apis.kcp.io/v1alpha2`` APIExport serving ``kinds`` (stored as CRDs in each workspace),
    claiming read access to namespaces so downstream namespaces can carry the upstream labels."""
    return {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIExport",
        "metadata": {"name": name},
        "spec": {
            "resources": [
                {"group": k.group, "name": k.plural, "schema": schema_name(k), "storage": {"crd": {}}}
                for k in kinds
            ],
            "permissionClaims": [dict(NAMESPACE_CLAIM)],
        },
    }


def api_binding(path: str, name: str = EXPORT_NAME) -> dict[str, Any]:
    """An APIBinding a user workspace applies to get tmc's kinds and Deployments."""
    return {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIBinding",
        "metadata": {"name": name},
        "spec": {
            "reference": {"export": {"path": path, "name": name}},
            "permissionClaims": [
                {**NAMESPACE_CLAIM, "selector": {"matchAll": True}, "state": "Accepted"},
            ],
        },
    }
