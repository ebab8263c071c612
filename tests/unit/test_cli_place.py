"""tmcctl place: the contract's JSON records, placements as YAML, a readable table, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tmc_core.examples import example_inventory, example_text
from tmc_core.manifests import read_inventory
from tmc_core.placement import place_inventory
from tmcctl.main import app

runner = CliRunner()

CONTRACT = """\
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: aws-use1-a, labels: {env: prod}}
spec: {provider: aws, region: us-east-1, zone: us-east-1a}
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1100"}
  allocated:   {cpu: "10", memory: 20Gi,  pods: "100"}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: gcp-euw1-b, labels: {env: prod}}
spec: {provider: gcp, region: europe-west1, zone: europe-west1-b}
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110"}
  allocated:   {cpu: "0", memory: 0Gi, pods: "0"}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: dev-1, labels: {env: dev}}
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1100"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 6
  template: {spec: {containers: [{name: app, resources: {requests: {cpu: 500m, memory: 1Gi}}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: huge, namespace: shop}
spec: {replicas: 2, template: {spec: {containers: [{name: app, resources: {requests: {cpu: "500"}}}]}}}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: WorkloadPlacement
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors:
    - {apiVersion: apps/v1, kind: Deployment, name: web}
    - {apiVersion: apps/v1, kind: Deployment, name: huge}
  placement:
    clusterAffinity: {labelSelector: {matchLabels: {env: prod}}}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Weighted,
                        weightPreference: {dynamicWeight: AvailableReplicas}}
"""


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_records_follow_the_contract(tmp_path: Path) -> None:
    result = runner.invoke(app, ["place", "-f", _file(tmp_path, CONTRACT), "-o", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [(r["workload"]["namespace"], r["workload"]["name"]) for r in records] == [
        ("shop", "huge"),
        ("shop", "web"),
    ]
    huge, web = records
    assert set(web) == {"workload", "placement", "clusters", "schedulable", "reason"}
    assert web["placement"] == "shop/web" and web["schedulable"] is True and web["reason"] == ""
    names = [c["name"] for c in web["clusters"]]
    assert names == sorted(names) and "dev-1" not in names
    assert sum(c["replicas"] for c in web["clusters"]) == 6
    assert huge["schedulable"] is False and huge["clusters"] == []
    assert huge["reason"].startswith("0/3 clusters fit:")
    assert "insufficient cpu" in huge["reason"] and "label env is not prod" in huge["reason"]


def test_explain_adds_reasons_and_scores_without_changing_the_decision(tmp_path: Path) -> None:
    path = _file(tmp_path, CONTRACT)
    plain = json.loads(runner.invoke(app, ["place", "-f", path, "-o", "json"]).stdout)
    explained = json.loads(runner.invoke(app, ["place", "-f", path, "-o", "json", "--explain"]).stdout)
    assert [{k: v for k, v in r.items() if k != "explanation"} for r in explained] == plain
    web = explained[1]["explanation"]
    assert web["filtered"] == {"dev-1": "label env is not prod"}
    assert all(0.0 <= s <= 100.0 for score in web["scores"] for s in score["plugins"].values())


def test_yaml_output_feeds_back_as_the_current_assignment(tmp_path: Path) -> None:
    path = _file(tmp_path, CONTRACT)
    out = runner.invoke(app, ["place", "-f", path, "-o", "yaml"])
    assert out.exit_code == 0, out.output
    (doc,) = list(yaml.safe_load_all(out.stdout))
    assert doc["kind"] == "WorkloadPlacement" and doc["status"]["observedPlacement"]
    manifests = CONTRACT.split("---\napiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement")[0]
    again = read_inventory([("a.yaml", manifests), ("b.yaml", out.stdout)])
    assert {d.workload.name: d.replicas for d in again.placements[0].decisions} == {
        d.workload.name: d.replicas for d in place_inventory(again)
    }


def test_table_without_files_places_the_bundled_example() -> None:
    result = runner.invoke(app, ["place"])
    assert result.exit_code == 0, result.output
    inventory = example_inventory()
    for d in place_inventory(inventory):
        assert d.workload.key in result.stdout
    assert "UNSCHEDULABLE" in result.stdout  # the example has one workload that fits nowhere


def test_explain_table_lists_filtered_clusters_with_reasons(tmp_path: Path) -> None:
    result = runner.invoke(app, ["place", "-f", _file(tmp_path, CONTRACT), "--explain"])
    assert result.exit_code == 0, result.output
    assert "dev-1: label env is not prod" in result.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = CONTRACT.replace("cpu: 500m, memory: 1Gi", "cpu: 12 cores, memory: 1Gi")
    result = runner.invoke(app, ["place", "-f", _file(tmp_path, bad)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "containers[0].resources.requests.cpu" in lines[0] and 'invalid quantity "12 cores"' in lines[0]


def test_example_round_trips_through_place(tmp_path: Path) -> None:
    path = _file(tmp_path, example_text())
    from_file = json.loads(runner.invoke(app, ["place", "-f", path, "-o", "json"]).stdout)
    bundled = json.loads(runner.invoke(app, ["place", "-o", "json"]).stdout)
    assert from_file == bundled
