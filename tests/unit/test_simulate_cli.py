"""tmcctl simulate: a table with a column per policy, JSON with summary and series, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tmc_core.examples import example_text
from tmc_core.simulate import load_scenario, simulate
from tmcctl.main import app

runner = CliRunner()

SMALL = """\
name: small
seed: 11
duration: 600
step: 120
fleet: {clusters: 8, providers: 2, regionsPerProvider: 2, zonesPerRegion: 1}
workloads: {count: 10, policies: 3}
events:
  - {at: 240, type: fail, target: {largest: region}}
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_json_carries_the_library_metrics(scenario_file: Path) -> None:
    out = runner.invoke(app, ["simulate", "--scenario", str(scenario_file), "-p", "spread", "-o", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["scenario"]["name"] == "small" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    direct = simulate(load_scenario(SMALL), "spread")
    expected = direct.metrics.summary()
    assert run["policy"] == "spread" and run["solver"] == "engine"
    assert run["summary"]["moved"] == expected["moved"]
    assert run["summary"]["cost"] == pytest.approx(expected["cost"])
    assert run["series"]["time"] == [0, 120, 240, 360, 480, 600]
    assert run["series"]["pending"] == direct.metrics.pending.tolist()


def test_table_has_a_column_per_policy(scenario_file: Path) -> None:
    out = runner.invoke(app, ["simulate", "-s", str(scenario_file), "-p", "spread", "-p", "cost-aware"])
    assert out.exit_code == 0, out.output
    header = next(line for line in out.stdout.splitlines() if line.strip().startswith("metric"))
    assert header.split() == ["metric", "spread", "cost-aware"]
    assert any(line.split()[0] == "moved" for line in out.stdout.splitlines() if line.strip())


def test_builtin_scenario_and_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "pickn.yaml"
    policy.write_text("placement: {placementType: PickN, numberOfClusters: 2}\n")
    out = runner.invoke(
        app,
        ["simulate", "-s", "drain", "-p", str(policy), "--clusters", "10", "--workloads", "8", "-o", "json"],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["scenario"] == {**doc["scenario"], "name": "drain", "clusters": 10, "workloads": 8}
    assert doc["runs"][0]["policy"] == "pickn"
    assert out.stderr == ""  # no progress bar without a terminal


def test_manifests_as_the_starting_fleet(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(example_text())
    out = runner.invoke(app, ["simulate", "-s", "region-failure", "-f", str(fleet), "-o", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["runs"][0]["summary"]["decisions"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-s", "no-such-scenario"], "--scenario: unknown scenario 'no-such-scenario'"),
        (["-s", "missing.yaml"], "--scenario: missing.yaml: no such file"),
        (["-p", "no-such-policy"], "--policy: unknown policy 'no-such-policy'"),
        (["--solver", "magic"], "--solver: unknown solver 'magic'"),
    ],
)
def test_bad_names_exit_2_with_one_line(args: list[str], expected: str) -> None:
    out = runner.invoke(app, ["simulate", *args])
    assert out.exit_code == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), out.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("duration: 0\n", "Scenario: duration: "),
        ("events: [{at: 1, type: fail}]\n", "events[0].fail.target: required field is missing"),
        ("name: [oops\n", "line 2: expected ',' or ']'"),
        ("- 1\n", "a scenario must be a mapping"),
    ],
)
def test_bad_scenario_file_exit_2_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = runner.invoke(app, ["simulate", "-s", str(path)])
    assert out.exit_code == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(path)) and expected in lines[0], out.stderr
    assert "Traceback" not in out.output


def test_bad_policy_file_exit_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("placement: {spreadConstraints: [{spreadByField: region, minGroups: 3, maxGroups: 1}]}\n")
    out = runner.invoke(app, ["simulate", "-p", str(path)])
    assert out.exit_code == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "placement.spreadConstraints[0].maxGroups" in lines[0], out.stderr
