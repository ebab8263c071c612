"""Generated APIs: deploy/ is up to date, every schema is structural, and tmc's own manifests
(clusters and placements as tmc_core writes them) pass the schemas without losing a field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.schema_rules import object_problems, structural_problems
from tmc_core.manifests import cluster_manifest, placement_manifest
from tmc_core.model import Cluster, Decision
from tmc_core.testing import strategies as tst
from tmc_kcp import generate, schemas

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return generate.render_files(generate.kube_definitions())


@pytest.fixture(scope="module")
def definitions() -> Any:
    return generate.kube_definitions()


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _schema(kind: schemas.ApiKind) -> dict[str, Any]:
    return schemas.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _without_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "metadata"}


# -- deploy/ is what the generator writes ---------------------------------------------------------


def test_deploy_dir_is_not_stale(files: dict[str, str]) -> None:
    stale = generate.stale_files(DEPLOY, files)
    assert stale == [], f"deploy/ is stale ({', '.join(stale)}): run python -m tmc_kcp.generate deploy/"


def test_stale_check_notices_an_edit(files: dict[str, str], tmp_path: Path) -> None:
    assert generate.main([str(tmp_path)]) == 0
    assert generate.stale_files(tmp_path, files) == []
    target = tmp_path / "crds" / "tmc.kcp.io_workloadplacements.yaml"
    target.write_text(target.read_text().replace("minItems: 1", "minItems: 2"))
    assert generate.stale_files(tmp_path, files) == ["crds/tmc.kcp.io_workloadplacements.yaml"]
    assert generate.main([str(tmp_path), "--check"]) == 1


def test_every_generated_file_is_yaml_with_kinds(files: dict[str, str]) -> None:
    for rel, text in files.items():
        docs = _docs(text)
        assert docs, rel
        assert all(d.get("apiVersion") and d.get("kind") and d["metadata"].get("name") for d in docs), rel


# -- structural schemas ---------------------------------------------------------------------------


def test_rule_checker_flags_what_apiextensions_rejects() -> None:
    bad = {
        "type": "object",
        "properties": {
            "untyped": {"description": "x"},
            "junctor": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "both": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port"],
                "items": {"type": "object", "nullable": True, "properties": {"port": {"type": "integer"}}},
            },
        },
    }
    problems = structural_problems(bad)
    assert any(p.startswith(".untyped: no type") for p in problems)
    assert any(".junctor: type inside anyOf" in p for p in problems)
    assert any(".both: properties and additionalProperties" in p for p in problems)
    assert any("list-map key port is neither" in p for p in problems)
    assert any("map-list items cannot be nullable" in p for p in problems)
    assert "<root>: nullable at the root" in structural_problems({"type": "object", "nullable": True})


@pytest.mark.parametrize("kind", schemas.tmc_kinds(), ids=lambda k: k.kind)
def test_tmc_schemas_are_structural(kind: schemas.ApiKind) -> None:
    assert structural_problems(_schema(kind)) == []


def test_deployment_schema_is_structural(definitions: Any) -> None:
    kind = schemas.deployment_kind(definitions)
    assert structural_problems(kind.schema) == []
    spec = kind.schema["properties"]["spec"]["properties"]
    containers = spec["template"]["properties"]["spec"]["properties"]["containers"]
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    port = containers["items"]["properties"]["ports"]["items"]["properties"]["protocol"]
    assert port["default"] == "TCP"
    assert spec["strategy"]["properties"]["rollingUpdate"]["properties"]["maxSurge"] == {
        "x-kubernetes-int-or-string": True
    }


def test_structural_conversion_rejects_what_it_cannot_express() -> None:
    with pytest.raises(ValueError, match="cannot be made structural"):
        schemas.structural({"anyOf": [{"type": "object"}, {"type": "array"}]})


@pytest.mark.parametrize("kind", schemas.tmc_kinds(), ids=lambda k: k.kind)
def test_crds_are_valid_apiextensions_objects(kind: schemas.ApiKind) -> None:
    kubernetes_validate.validate(schemas.crd(kind), "1.32.0", strict=True)


def test_schema_names_change_exactly_with_the_schema() -> None:
    kind = schemas.workload_placement_kind()
    same = schemas.workload_placement_kind()
    edited = schemas.ApiKind(**{**kind.__dict__, "columns": kind.columns[:1]})
    assert schemas.schema_name(kind) == schemas.schema_name(same)
    assert schemas.schema_name(kind) != schemas.schema_name(edited)
    assert schemas.schema_name(kind).endswith(".workloadplacements.tmc.kcp.io")


def test_export_serves_every_schema(files: dict[str, str]) -> None:
    names = {d["metadata"]["name"] for d in _docs(files["kcp/apiresourceschemas.yaml"])}
    export = next(d for d in _docs(files["kcp/apiexport.yaml"]) if d["kind"] == "APIExport")
    served = {r["schema"] for r in export["spec"]["resources"]}
    assert served == names
    assert {(r["group"], r["name"]) for r in export["spec"]["resources"]} == {
        ("tmc.kcp.io", "clusterregistrations"),
        ("tmc.kcp.io", "workloadplacements"),
        ("apps", "deployments"),
    }


def test_api_resource_schemas_carry_the_openapi_schema_itself(files: dict[str, str]) -> None:
    # kcp's APIResourceVersion.schema is the OpenAPI schema; the CRD's openAPIV3Schema wrapper is
    # rejected there ("openAPIV3Schema.type: must not be empty at the root").
    by_plural = {k.plural: k for k in schemas.tmc_kinds()}
    for doc in _docs(files["kcp/apiresourceschemas.yaml"]):
        version = doc["spec"]["versions"][0]
        assert version["schema"]["type"] == "object", doc["metadata"]["name"]
        assert "openAPIV3Schema" not in version["schema"], doc["metadata"]["name"]
        kind = by_plural.get(doc["spec"]["names"]["plural"])
        if kind is not None:
            assert version["schema"] == _schema(kind)


def test_kcp_files_name_no_provider_path_but_the_binding_example(files: dict[str, str]) -> None:
    # kcp creates the APIExportEndpointSlice itself, at the export's own path; one of ours would name
    # a fixed path and be forbidden in any other provider workspace.
    kinds = {d["kind"] for rel in files if rel.startswith("kcp/") for d in _docs(files[rel])}
    assert "APIExportEndpointSlice" not in kinds
    assert "root:tmc" not in files["kcp/apiexport.yaml"] + files["kcp/apiresourceschemas.yaml"]


# -- tmc's own manifests pass and keep every field ------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(tst.clusters())
def test_cluster_manifests_fit_the_schema(cluster: Cluster) -> None:
    manifest = cluster_manifest(cluster)
    schema = _schema(schemas.cluster_registration_kind())
    assert object_problems(schema, _without_metadata(manifest)) == []


@settings(max_examples=60, deadline=None)
@given(tst.workload_placements(), st.booleans())
def test_placement_manifests_fit_the_schema(placement: Any, with_explanation: bool) -> None:
    decision = {
        "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "placement": placement.key,
        "clusters": [{"name": "a", "replicas": 2}],
        "schedulable": True,
        "reason": "",
    }
    manifest = placement_manifest(placement, [Decision.from_record(decision)])
    if with_explanation:
        explained = Decision.from_record(
            {
                **decision,
                "explanation": {
                    "totalClusters": 3,
                    "filtered": {"b": "insufficient cpu"},
                    "scores": [{"cluster": "a", "total": 71.5, "plugins": {"LeastAllocated": 80.0}}],
                    "selected": ["a"],
                },
            }
        )
        manifest["status"]["decisions"] = [explained.dump()]
    schema = _schema(schemas.workload_placement_kind())
    assert object_problems(schema, _without_metadata(manifest)) == []


def test_schema_rejects_bad_values() -> None:
    schema = _schema(schemas.cluster_registration_kind())
    bad = {"spec": {"taints": [{"key": "k", "effect": "Sometimes"}], "colour": "red"}}
    problems = object_problems(schema, bad)
    assert any("effect" in p and "Sometimes" in p for p in problems)
    assert any("colour" in p and "pruned" in p for p in problems)
