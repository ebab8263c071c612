"""tmcctl in-process (typer's CliRunner) and, once, as the installed console script."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tmc_core.examples import example_inventory, example_text
from tmc_core.manifests import read_inventory
from tmcctl.main import app

runner = CliRunner()

GOOD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2, template: {spec: {containers: [{name: app, resources: {requests: {cpu: 500m}}}]}}}
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_validate_bundled_example(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.yaml", example_text())
    result = runner.invoke(app, ["validate", "-f", path])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "12 clusters (11 ready, 1 not ready)" in out
    assert "20 workloads" in out and "15 placements" in out
    assert "azure-weu-1" in out and "NO" in out
    assert "Deployment/shop/cart" in out  # what shop/backend selects
    assert "selected by no placement" in out and "sandbox/scratch" in out


def test_validate_reads_stdin() -> None:
    result = runner.invoke(app, ["validate", "-f", "-"], input=GOOD_DEPLOYMENT)
    assert result.exit_code == 0, result.output
    assert "1 workloads" in result.stdout


PLACEMENT_HEAD = (
    "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: p, namespace: shop}\n"
)

BAD_INPUTS = {
    "malformed-yaml": ("kind: [Deployment\n", "invalid YAML"),
    "unknown-kind": (
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n",
        ": kind: unknown kind",
    ),
    "missing-selectors": (
        PLACEMENT_HEAD + "spec: {}\n",
        ": spec.resourceSelectors: required field is missing",
    ),
    "wrong-type": (
        GOOD_DEPLOYMENT.replace("replicas: 2", "replicas: six"),
        ": spec.replicas: expected an integer",
    ),
    "bad-quantity": (
        GOOD_DEPLOYMENT.replace("cpu: 500m", "cpu: 12 cores"),
        ": spec.template.spec.containers[0].resources.requests.cpu: invalid quantity",
    ),
    "contradictory-policy": (
        PLACEMENT_HEAD + "spec:\n  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]\n"
        "  placement: {placementType: PickN}\n",
        ": spec.placement.numberOfClusters: required when placementType is PickN",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_validate_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = BAD_INPUTS[case]
    path = write(tmp_path, f"{case}.yaml", text)
    result = runner.invoke(app, ["validate", "-f", path])
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}: document 1")
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    result = runner.invoke(app, ["validate", "-f", missing])
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"{missing}: no such file"]


def test_directory_and_undecodable_bytes_are_user_errors(tmp_path: Path) -> None:
    binary = write(tmp_path, "blob.yaml", b"kind: \xff\xfe\n")
    result = runner.invoke(app, ["validate", "-f", str(tmp_path), "-f", binary])
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 2
    assert lines[0] == f"{tmp_path}: is a directory (give the manifest files in it)"
    assert lines[1].startswith(f"{binary}: not UTF-8 text (byte 0xff at offset 6)")
    assert "Traceback" not in result.output


def test_problems_of_several_files_all_show(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD_DEPLOYMENT.replace("replicas: 2", "replicas: -3"))
    b = write(tmp_path, "b.yaml", "a: [1\n")
    good = write(tmp_path, "good.yaml", example_text())
    result = runner.invoke(app, ["validate", "-f", a, "-f", good, "-f", b])
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert [line.split(":")[0] for line in lines] == [a, b]
    assert "spec.replicas" in lines[0]


def test_validate_without_files_is_a_usage_error() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_example_output_reads_back_as_the_bundled_inventory() -> None:
    result = runner.invoke(app, ["example"])
    assert result.exit_code == 0
    assert result.stdout == example_text()
    assert read_inventory([("stdout", result.stdout)]) == example_inventory()


def test_version_prints_the_distribution_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tmc {version('tmc')}"


def test_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tmcctl")
    assert script.exists(), "the tmcctl console script is not installed in this environment"
    example = subprocess.run([script, "example"], capture_output=True, text=True, check=True, timeout=60)
    fleet = write(tmp_path, "fleet.yaml", example.stdout)
    ok = subprocess.run([script, "validate", "-f", fleet], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "12 clusters" in ok.stdout
    bad = write(tmp_path, "bad.yaml", GOOD_DEPLOYMENT.replace("replicas: 2", 'replicas: "six"'))
    failed = subprocess.run([script, "validate", "-f", bad], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1
    assert failed.stderr.startswith(f"{bad}: document 1 (Deployment shop/web): spec.replicas: ")
    assert "Traceback" not in failed.stderr
