"""tmc-controller's options: every one a command-line flag and a ``TMC_*`` environment variable.

A flag wins over its variable, which wins over the default. Bad values raise ``InvalidInput`` naming the
flag (and the variable when the value came from there), so the entry point prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NoReturn

from tmc_core.errors import InvalidInput
from tmc_core.solvers.catalog import SOLVER_NAMES

__all__ = ["OPTIONS", "ControllerOptions", "Option", "parse_duration", "parse_options"]


@dataclass(frozen=True)
class Option:
    """One option: its flag, its environment variable, its default and what it means."""

    dest: str
    help: str
    default: Any
    kind: str = "str"  # str | int | duration | bool | choice
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")

    @property
    def env(self) -> str:
        return "TMC_" + self.dest.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "hub_kubeconfig",
        "kubeconfig of the hub (a Kubernetes cluster with tmc's CRDs, or kcp); empty: in-cluster config",
        "",
    ),
    Option("hub_context", "context of --hub-kubeconfig to use (empty: its current context)", ""),
    Option(
        "kcp_export",
        "name of tmc's APIExport: run against kcp through its virtual workspace "
        "(empty: plain Kubernetes hub)",
        "",
    ),
    Option(
        "kcp_virtual_workspace_url",
        "virtual-workspace URL to use instead of reading the APIExportEndpointSlice named like --kcp-export",
        "",
    ),
    Option(
        "kcp_fleet_workspace",
        "on kcp, the workspace whose ClusterRegistrations form the fleet: 'provider' (the APIExport's own), "
        "a logical-cluster name, or '*' (every bound workspace)",
        "provider",
    ),
    Option("member_kubeconfig", "kubeconfig whose contexts are the member clusters, by cluster name", ""),
    Option(
        "member_secrets_namespace",
        "namespace on the hub of the Secrets holding member credentials "
        "(one Secret per ClusterRegistration, same name)",
        "",
    ),
    Option("solver", "placement solver", "greedy", "choice", SOLVER_NAMES),
    Option("solver_time_limit", "time limit of the optimal solver per batch", "10s", "duration"),
    Option("concurrency", "reconcile workers per controller", 4, "int"),
    Option("resync_period", "full re-list and re-reconcile period", "5m", "duration"),
    Option("heartbeat_interval", "how often each member cluster is probed", "20s", "duration"),
    Option(
        "grace_period", "how long a cluster may be unreachable before its replicas move", "60s", "duration"
    ),
    Option("leader_elect", "run only while holding the leader Lease", True, "bool"),
    Option("lease_name", "name of the leader-election Lease", "tmc-controller"),
    Option("lease_namespace", "namespace of the leader-election Lease", "tmc-system"),
    Option("metrics_port", "port of the Prometheus /metrics endpoint (0: off)", 8080, "int"),
    Option("health_port", "port of /healthz and /readyz (0: off)", 8081, "int"),
    Option("bind_address", "address the metrics and health servers listen on", "0.0.0.0"),
    Option(
        "log_level", "DEBUG, INFO, WARNING or ERROR", "INFO", "choice", ("DEBUG", "INFO", "WARNING", "ERROR")
    ),
)

_LOGICAL_CLUSTER = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"`` or plain seconds -> seconds."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        if not _DURATION.match(text):
            raise ValueError(f"expected a duration such as 30s, 5m or 1h30m, got {text!r}") from None
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    if seconds < 0:
        raise ValueError(f"expected a non-negative duration, got {text!r}")
    return seconds


def _convert(option: Option, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    if option.kind == "int":
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if value < 0:
            raise ValueError(f"expected a non-negative integer, got {raw!r}")
        return value
    if option.kind == "duration":
        return parse_duration(raw)
    if option.kind == "bool":
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if option.kind == "choice":
        choice = raw.upper() if option.dest == "log_level" else raw
        if choice not in option.choices:
            raise ValueError(f"expected one of {', '.join(option.choices)}, got {raw!r}")
        return choice
    return raw


@dataclass(frozen=True)
class ControllerOptions:
    """The validated settings of one tmc-controller process (durations in seconds)."""

    hub_kubeconfig: str = ""
    hub_context: str = ""
    kcp_export: str = ""
    kcp_virtual_workspace_url: str = ""
    kcp_fleet_workspace: str = "provider"
    member_kubeconfig: str = ""
    member_secrets_namespace: str = ""
    solver: str = "greedy"
    solver_time_limit: float = 10.0
    concurrency: int = 4
    resync_period: float = 300.0
    heartbeat_interval: float = 20.0
    grace_period: float = 60.0
    leader_elect: bool = True
    lease_name: str = "tmc-controller"
    lease_namespace: str = "tmc-system"
    metrics_port: int = 8080
    health_port: int = 8081
    bind_address: str = "0.0.0.0"
    log_level: str = "INFO"

    @property
    def on_kcp(self) -> bool:
        """Whether the hub is kcp (through an APIExport's virtual workspace)."""
        return bool(self.kcp_export or self.kcp_virtual_workspace_url)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidInput(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tmc-controller",
        description="Place and sync workloads from a kcp or Kubernetes hub onto member clusters.",
        epilog="Every flag can also be set by its TMC_* environment variable (flags win).",
    )
    for option in OPTIONS:
        metavar = {"int": "N", "duration": "DURATION", "bool": "BOOL"}.get(option.kind, "VALUE")
        parser.add_argument(
            option.flag,
            dest=option.dest,
            default=None,
            metavar=metavar,
            help=f"{option.help} (env {option.env}; default {option.default!r})",
        )
    return parser


def parse_options(argv: Sequence[str], env: Mapping[str, str] | None = None) -> ControllerOptions:
    """Options from ``argv`` and ``env`` (``os.environ`` when None); ``InvalidInput`` names the bad one."""
    env = os.environ if env is None else env
    args = vars(_parser().parse_args(list(argv)))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw, where = args[option.dest], option.flag
        if raw is None and option.env in env:
            raw, where = env[option.env], f"{option.flag} (from {option.env})"
        if raw is None:
            raw = option.default
        try:
            values[option.dest] = _convert(option, raw)
        except ValueError as err:
            raise InvalidInput(str(err), path=where) from None
    for port in ("metrics_port", "health_port"):
        if values[port] > 65535:
            raise InvalidInput(
                f"expected a port number up to 65535, got {values[port]}", path="--" + port.replace("_", "-")
            )
    if values["concurrency"] < 1:
        raise InvalidInput("expected at least 1 worker", path="--concurrency")
    if values["member_kubeconfig"] and values["member_secrets_namespace"]:
        raise InvalidInput(
            "give --member-kubeconfig or --member-secrets-namespace, not both", path="--member-kubeconfig"
        )
    if not values["member_kubeconfig"] and not values["member_secrets_namespace"]:
        raise InvalidInput(
            "say where member credentials come from: --member-kubeconfig or --member-secrets-namespace",
            path="--member-kubeconfig",
        )
    fleet = values["kcp_fleet_workspace"]
    if fleet not in ("provider", "*") and not _LOGICAL_CLUSTER.match(fleet):
        raise InvalidInput(
            f"expected provider, * or a logical-cluster name (kubectl get workspace -o "
            f"jsonpath={{.spec.cluster}}), got {fleet!r}",
            path="--kcp-fleet-workspace",
        )
    for key in ("hub_kubeconfig", "member_kubeconfig"):
        path = values[key]
        if path and not os.path.isfile(path):
            raise InvalidInput(f"no such file {path!r}", path="--" + key.replace("_", "-"))
    known = {f.name for f in fields(ControllerOptions)}
    return ControllerOptions(**{k: v for k, v in values.items() if k in known})
