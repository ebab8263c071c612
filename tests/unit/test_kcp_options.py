"""tmc-controller's options (flags over env over defaults, one-line errors, exit 2), its health and
metrics endpoints, and the workspace-aware URL and cache helpers of tmc_kcp."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmc_core.errors import InvalidInput
from tmc_kcp.controller_main import HealthServer, main
from tmc_kcp.options import OPTIONS, ControllerOptions, parse_duration, parse_options
from tmc_kcp.workspaces import (
    Hub,
    WorkspaceStore,
    cluster_url,
    endpoint_urls,
    export_cluster,
    workspace_key,
)
from tmc_kube import FakeKube

MEMBERS = ["--member-secrets-namespace", "tmc-system"]


def test_defaults_match_the_dataclass() -> None:
    opts = parse_options(MEMBERS, env={})
    defaults = ControllerOptions(member_secrets_namespace="tmc-system")
    assert opts == defaults
    for option in OPTIONS:
        assert option.env == "TMC_" + option.dest.upper()


def test_configuration_doc_lists_every_option() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [o.flag for o in OPTIONS if f"`{o.flag}`" not in doc or f"`{o.env}`" not in doc]
    assert missing == []


def test_flag_wins_over_env_which_wins_over_default() -> None:
    env = {"TMC_SOLVER": "flow", "TMC_CONCURRENCY": "7", "TMC_LEADER_ELECT": "false"}
    opts = parse_options([*MEMBERS, "--concurrency", "3"], env=env)
    assert (opts.solver, opts.concurrency, opts.leader_elect) == ("flow", 3, False)


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--concurrency", "0"], {}, "--concurrency"),
        (["--resync-period", "soon"], {}, "--resync-period"),
        (["--metrics-port", "70000"], {}, "--metrics-port"),
        ([], {"TMC_SOLVER": "best"}, "--solver (from TMC_SOLVER)"),
        ([], {"TMC_LEADER_ELECT": "maybe"}, "--leader-elect (from TMC_LEADER_ELECT)"),
        (["--hub-kubeconfig", "/no/such/file"], {}, "--hub-kubeconfig"),
    ],
)
def test_bad_values_name_the_option(argv: list[str], env: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_options([*MEMBERS, *argv], env=env)
    assert str(err.value).startswith(named + ":")
    assert "\n" not in str(err.value)


def test_fleet_workspace_is_the_provider_unless_told() -> None:
    assert parse_options(MEMBERS, env={}).kcp_fleet_workspace == "provider"
    for value in ("*", "1dfosvknk7r1jk9e"):
        assert parse_options([*MEMBERS, "--kcp-fleet-workspace", value], env={}).kcp_fleet_workspace == value
    with pytest.raises(InvalidInput) as err:
        parse_options([*MEMBERS, "--kcp-fleet-workspace", "root:compute"], env={})
    assert str(err.value).startswith("--kcp-fleet-workspace: expected provider, * or a logical-cluster name")


def test_member_source_is_required_and_exclusive(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="member credentials"):
        parse_options([], env={})
    kubeconfig = tmp_path / "members.yaml"
    kubeconfig.write_text("contexts: []\n")
    with pytest.raises(InvalidInput, match="not both"):
        parse_options([*MEMBERS, "--member-kubeconfig", str(kubeconfig)], env={})


@given(st.integers(0, 10_000), st.integers(0, 59), st.integers(0, 999))
def test_durations_add_up(hours: int, minutes: int, millis: int) -> None:
    text = f"{hours}h{minutes}m{millis}ms"
    assert parse_duration(text) == pytest.approx(hours * 3600 + minutes * 60 + millis / 1000)


def test_entry_point_prints_one_line_and_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from tmc_kcp.controller_main import run; run()", "--concurrency", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["tmc-controller: --concurrency: expected an integer, got 'x'"]


def test_main_reports_missing_hub_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*MEMBERS], env={}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hub-kubeconfig" in err[0]


def test_health_server_answers_healthz_and_readyz() -> None:
    ready = [False]
    server = HealthServer("127.0.0.1", 0, lambda: ready[0])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/readyz", timeout=5)
        assert err.value.code == 503
        ready[0] = True
        assert urllib.request.urlopen(f"{base}/readyz", timeout=5).status == 200
    finally:
        server.stop()


# -- workspaces -----------------------------------------------------------------------------------


def test_cluster_urls() -> None:
    vw = "https://kcp:6443/services/apiexport/abc123/tmc.kcp.io"
    assert cluster_url(vw, "*", virtual=True) == f"{vw}/clusters/*"
    assert cluster_url(vw + "/", "2x7kqf9s", virtual=True) == f"{vw}/clusters/2x7kqf9s"
    assert cluster_url("https://kcp:6443", "root:org:ws") == "https://kcp:6443/clusters/root:org:ws"
    with pytest.raises(InvalidInput, match="logical-cluster name"):
        cluster_url(vw, "root:org:ws", virtual=True)
    with pytest.raises(InvalidInput, match="already names a cluster"):
        cluster_url("https://kcp:6443/clusters/root", "*")


def test_export_cluster_is_read_from_an_apiexport_virtual_workspace_url() -> None:
    assert export_cluster("https://kcp:6443/services/apiexport/2datnbbjn6md3076/tmc.kcp.io") == (
        "2datnbbjn6md3076"
    )
    assert export_cluster("https://kcp:6443/services/apiexport/2datnbbjn6md3076/tmc.kcp.io/") == (
        "2datnbbjn6md3076"
    )
    assert export_cluster("https://kcp:6443/services/apiexport/root:tmc/tmc.kcp.io") == ""
    assert export_cluster("https://proxy.example/vw") == ""


def test_endpoint_urls_are_unique_and_sorted() -> None:
    slice_ = {
        "status": {"endpoints": [{"url": "https://b/x/"}, {"url": "https://a/x"}, {"url": "https://b/x"}]}
    }
    assert endpoint_urls(slice_) == ("https://a/x", "https://b/x")
    assert endpoint_urls({"spec": {}}) == ()


def _obj(ws: str, name: str, rv: str) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": "shop", "resourceVersion": rv}
    if ws:
        meta["annotations"] = {"kcp.io/cluster": ws}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}


def test_store_keeps_equal_names_of_two_workspaces_apart() -> None:
    store = WorkspaceStore()
    deltas = store.replace([_obj("ws1", "web", "1"), _obj("ws2", "web", "2")])
    assert sorted(d[0] for d in deltas) == ["ADDED", "ADDED"]
    assert store.keys() == ["ws1|shop/web", "ws2|shop/web"]
    deltas = store.replace([_obj("ws2", "web", "3")])
    assert [(d[0], workspace_key(d[1])) for d in deltas] == [
        ("DELETED", "ws1|shop/web"),
        ("MODIFIED", "ws2|shop/web"),
    ]
    assert workspace_key(_obj("", "web", "1")) == "shop/web"


def test_hub_reads_every_shard_and_writes_to_the_objects_workspace() -> None:
    asked: list[str] = []

    def port_for(url: str) -> FakeKube:
        asked.append(url)
        return FakeKube()

    hub = Hub(port_for, "https://kcp", virtual_workspace_urls=["https://s2/vw", "https://s1/vw"])
    assert sorted(hub.read_ports) == ["https://s1/vw", "https://s2/vw"]
    assert sorted(asked) == ["https://s1/vw/clusters/*", "https://s2/vw/clusters/*"]
    informer = hub.informer("apps/v1", "Deployment")
    informer.reflectors["https://s1/vw"]._notify("ADDED", _obj("ws9", "web", "1"), None)
    hub.write_port("ws9")
    assert asked[-1] == "https://s1/vw/clusters/ws9"
    with pytest.raises(InvalidInput, match=r"kcp\.io/cluster"):
        hub.write_port("")
    plain = Hub(lambda url: FakeKube(), "https://hub")
    assert not plain.on_kcp and plain.write_port("") is plain.read_ports["https://hub"]
    with pytest.raises(InvalidInput, match="not kcp"):
        plain.write_port("ws1")
