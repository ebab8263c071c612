"""``tmc.kcp.io/v1alpha1`` ClusterRegistration manifests <-> ``Cluster`` values.

metadata.name/labels, spec.provider/region/zone/taints/properties/apiResources and
status.allocatable/allocated/conditions map one to one onto the Cluster fields; absent conditions mean
Ready. Unknown fields in spec and status are rejected so a typo cannot silently drop capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests._fields import check_keys, opt_mapping, opt_str, relocate, resource_list, str_map
from tmc_core.model.cluster import Cluster
from tmc_core.model.validation import parse_value

__all__ = ["API_VERSION", "cluster_from_manifest", "cluster_manifest"]

API_VERSION = "tmc.kcp.io/v1alpha1"

_SPEC_FIELDS = ("provider", "region", "zone", "taints", "properties", "apiResources")
_STATUS_FIELDS = ("allocatable", "allocated", "conditions")
# Where each Cluster field lives in the manifest (for error paths).
_WHERE = {"name": "metadata", "labels": "metadata"}
_WHERE.update({f: "spec" for f in _SPEC_FIELDS})
_WHERE.update({f: "status" for f in _STATUS_FIELDS})


def cluster_from_manifest(data: Mapping[str, Any]) -> Cluster:
    """Read a ClusterRegistration; raises ``InvalidInput`` with the manifest field path."""
    meta = opt_mapping(data, "metadata", "")
    name = opt_str(meta, "name", "metadata", required=True)
    labels = str_map(meta, "labels", "metadata")
    spec = opt_mapping(data, "spec", "")
    status = opt_mapping(data, "status", "")
    check_keys(spec, _SPEC_FIELDS, "spec")
    check_keys(status, _STATUS_FIELDS, "status")

    fields: dict[str, Any] = {"name": name, "labels": labels}
    for key in _SPEC_FIELDS:
        if spec.get(key) is not None:
            fields[key] = spec[key]
    for key in ("allocatable", "allocated"):
        resources = resource_list(status, key, "status")
        if resources is not None:
            fields[key] = resources
    if status.get("conditions") is not None:
        fields["conditions"] = status["conditions"]
    try:
        return parse_value(Cluster, fields)
    except InvalidInput as err:
        raise relocate(err, _WHERE) from None


def _number(value: float) -> str:
    """A property as the manifest writes it: ``"20"`` rather than ``"20.0"``, exact otherwise."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def cluster_manifest(cluster: Cluster) -> dict[str, Any]:
    """The ClusterRegistration manifest of a cluster; reading it back gives an equal Cluster."""
    metadata: dict[str, Any] = {"name": cluster.name}
    if cluster.labels:
        metadata["labels"] = dict(cluster.labels)
    spec: dict[str, Any] = {}
    for key, value in (
        ("provider", cluster.provider),
        ("region", cluster.region),
        ("zone", cluster.zone),
    ):
        if value:
            spec[key] = value
    if cluster.taints:
        spec["taints"] = [t.dump() for t in cluster.taints]
    if cluster.properties:
        spec["properties"] = {k: _number(v) for k, v in cluster.properties.items()}
    if cluster.api_resources is not None:
        spec["apiResources"] = list(cluster.api_resources)
    status: dict[str, Any] = {}
    if cluster.allocatable:
        status["allocatable"] = cluster.allocatable.to_dict()
    if cluster.allocated:
        status["allocated"] = cluster.allocated.to_dict()
    if cluster.conditions:
        status["conditions"] = [c.dump() for c in cluster.conditions]
    out: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ClusterRegistration"}
    out["metadata"] = metadata
    if spec:
        out["spec"] = spec
    if status:
        out["status"] = status
    return out
