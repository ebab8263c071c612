"""``tmc.kcp.io/v1alpha1`` WorkloadPlacement manifests <-> ``WorkloadPlacement`` values.

metadata.name/namespace, spec.resourceSelectors, spec.placement (the policy vocabulary) and
status.decisions (records as written by ``tmcctl place``) are read; unknown fields in spec and status
are rejected, so a misspelt policy field never silently means "no constraint".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests._fields import check_keys, opt_mapping, opt_str, relocate
from tmc_core.model.base import Value
from tmc_core.model.decision import Decision
from tmc_core.model.policy import WorkloadPlacement
from tmc_core.model.validation import parse_value

__all__ = ["API_VERSION", "placement_from_manifest", "placement_manifest"]

API_VERSION = "tmc.kcp.io/v1alpha1"

_WHERE = {
    "name": "metadata",
    "namespace": "metadata",
    "resourceSelectors": "spec",
    "placement": "spec",
    "decisions": "status",
}


def placement_from_manifest(data: Mapping[str, Any]) -> WorkloadPlacement:
    """Read a WorkloadPlacement; raises ``InvalidInput`` with the manifest field path."""
    meta = opt_mapping(data, "metadata", "")
    name = opt_str(meta, "name", "metadata", required=True)
    namespace = opt_str(meta, "namespace", "metadata")
    spec = opt_mapping(data, "spec", "")
    status = opt_mapping(data, "status", "")
    check_keys(spec, ("resourceSelectors", "placement"), "spec")
    check_keys(status, ("decisions", "observedPlacement"), "status")
    if spec.get("resourceSelectors") is None:
        raise InvalidInput(
            "required field is missing (which workloads this placement places)",
            path="spec.resourceSelectors",
        )
    fields: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "resourceSelectors": spec["resourceSelectors"],
    }
    if spec.get("placement") is not None:
        fields["placement"] = spec["placement"]
    if status.get("decisions") is not None:
        fields["decisions"] = status["decisions"]
    if status.get("observedPlacement") is not None:
        fields["observedPlacement"] = status["observedPlacement"]
    try:
        return parse_value(WorkloadPlacement, fields)
    except InvalidInput as err:
        raise relocate(err, _WHERE) from None


def placement_manifest(
    placement: WorkloadPlacement, decisions: Iterable[Decision] | None = None
) -> dict[str, Any]:
    """The WorkloadPlacement manifest: spec as camelCase, ``status.decisions`` as decision records
    sorted by workload (namespace, name). ``decisions`` defaults to the placement's own."""
    chosen = placement.decisions if decisions is None else tuple(decisions)
    metadata: dict[str, Any] = {"name": placement.name}
    if placement.namespace:
        metadata["namespace"] = placement.namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkloadPlacement",
        "metadata": metadata,
        "spec": {
            "resourceSelectors": [_as_written(s) for s in placement.resource_selectors],
            "placement": _as_written(placement.placement),
        },
        "status": {
            "decisions": [d.to_record() for d in sort_decisions(chosen)],
            "observedPlacement": placement.observed_placement
            if decisions is None
            else placement.placement.fingerprint(),
        },
    }


def _as_written(value: Value) -> dict[str, Any]:
    """camelCase, with the fields the user set (``replicaSchedulingType: Divided`` stays visible
    even though it is the default); values built in Python show only their non-default fields."""
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def sort_decisions(decisions: Iterable[Decision]) -> list[Decision]:
    """Decisions in output order: by workload (namespace, name), then kind, apiVersion, workspace."""
    return sorted(
        decisions,
        key=lambda d: (
            d.workload.namespace,
            d.workload.name,
            d.workload.kind,
            d.workload.api_version,
            d.workload.workspace,
            d.placement,
        ),
    )
