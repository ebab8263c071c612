"""Entry point of ``tmc-controller``: read options, connect to the hub and the members, serve metrics and
health, elect a leader, run the controllers until SIGTERM/SIGINT.

Bad options or credentials are one line on stderr and exit code 2; ``/healthz`` answers once the
process runs, ``/readyz`` once the caches have synced and (with leader election) for the leader and
for standbys alike, so a rolling update keeps one ready replica.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import start_http_server

from tmc_core.errors import InvalidInput
from tmc_kcp.members import Members
from tmc_kcp.metrics import Metrics
from tmc_kcp.options import ControllerOptions, parse_options
from tmc_kcp.workspaces import Hub, endpoint_urls, export_cluster, workspace_of
from tmc_kube import Connection, KubeClient, KubeError, LeaderElector, ObjectRef, connect

__all__ = ["HealthServer", "main", "run"]

log = logging.getLogger("tmc_kcp.controller")

_IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
_IN_CLUSTER_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


class HealthServer:
    """``/healthz`` (the process is alive) and ``/readyz`` (``ready()`` says so) on a thread."""

    def __init__(self, address: str, port: int, ready: Callable[[], bool]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/healthz":
                    code, body = 200, b"ok"
                elif self.path.split("?")[0] == "/readyz":
                    ok = ready()
                    code, body = (200, b"ok") if ok else (503, b"not ready")
                else:
                    code, body = 404, b"not found"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((address, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _hub_connection(opts: ControllerOptions) -> Connection:
    if opts.hub_kubeconfig:
        return Connection.from_kubeconfig(opts.hub_kubeconfig, context=opts.hub_context or None)
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not os.path.isfile(_IN_CLUSTER_TOKEN):
        raise InvalidInput("not running in a cluster: give the hub kubeconfig", path="--hub-kubeconfig")
    with open(_IN_CLUSTER_TOKEN) as f:
        token = f.read().strip()
    with open(_IN_CLUSTER_CA, "rb") as f:
        ca = f.read()
    return Connection(name="hub", server=f"https://{host}:{port}", token=token, ca_data=ca)


def _base_and_path(server: str) -> tuple[str, str]:
    """``https://kcp:6443/clusters/root:tmc`` -> (``https://kcp:6443``, ``root:tmc``)."""
    base, _, path = server.partition("/clusters/")
    return base.rstrip("/"), path.strip("/")


def build_hub(
    opts: ControllerOptions, connection: Connection
) -> tuple[Hub, KubeClient, list[Any], str | None]:
    """The hub (plain, or kcp virtual workspaces), the client of the hub's own endpoint (Secrets,
    Lease, APIExportEndpointSlice), the connections to close on exit, and on kcp the logical cluster
    whose ClusterRegistrations form the fleet (None: every workspace's, or a plain hub)."""
    opened: list[Any] = []

    def port_for_url(url: str) -> KubeClient:
        connected = connect(dataclasses.replace(connection, server=url))
        opened.append(connected)
        return KubeClient(connected.api_client)

    home = port_for_url(connection.server)
    if not opts.on_kcp:
        return Hub(lambda url: home, connection.server), home, opened, None
    urls: tuple[str, ...]
    provider = ""
    if opts.kcp_virtual_workspace_url:
        urls = (opts.kcp_virtual_workspace_url,)
        provider = export_cluster(opts.kcp_virtual_workspace_url)
    else:
        ref = ObjectRef("apis.kcp.io/v1alpha1", "APIExportEndpointSlice", "", opts.kcp_export)
        endpoint_slice = home.get(ref)
        urls = endpoint_urls(endpoint_slice)
        provider = workspace_of(endpoint_slice)
        if not urls:
            raise InvalidInput(
                f"APIExportEndpointSlice {opts.kcp_export!r} has no endpoints yet: bind the export in a "
                "workspace first",
                path="--kcp-export",
            )
    fleet: str | None = opts.kcp_fleet_workspace
    if fleet == "*":
        fleet = None
    elif fleet == "provider":
        if not provider:
            raise InvalidInput(
                "cannot tell the provider workspace from the virtual-workspace URL: give its "
                "logical-cluster name, or *",
                path="--kcp-fleet-workspace",
            )
        fleet = provider
    hub = Hub(port_for_url, _base_and_path(connection.server)[0], virtual_workspace_urls=urls)
    return hub, home, opened, fleet


def main(argv: Sequence[str], env: dict[str, str] | None = None, stop: threading.Event | None = None) -> int:
    """Run the controller; the exit code (0 after a clean stop, 2 for bad input)."""
    from tmc_kcp.manager import Manager

    try:
        opts = parse_options(argv, env)
    except InvalidInput as err:
        print(f"tmc-controller: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=opts.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = stop or threading.Event()
    opened: list[Any] = []
    try:
        connection = _hub_connection(opts)
        hub, home, opened, fleet = build_hub(opts, connection)
        if fleet is not None:
            log.info("fleet: the ClusterRegistrations of logical cluster %s", fleet)
        if opts.member_kubeconfig:
            members = Members.from_kubeconfig(opts.member_kubeconfig)
        else:
            members = Members.from_secrets(home, opts.member_secrets_namespace)
    except (InvalidInput, KubeError) as err:
        print(f"tmc-controller: {err}", file=sys.stderr)
        for c in opened:
            c.close()
        return 2
    metrics = Metrics()
    manager = Manager(
        hub,
        members,
        metrics=metrics,
        concurrency=opts.concurrency,
        grace_period=opts.grace_period,
        heartbeat_interval=opts.heartbeat_interval,
        resync_period=opts.resync_period,
        solver=opts.solver,
        solver_time_limit=opts.solver_time_limit,
        fleet_workspace=fleet,
    )
    synced = threading.Event()
    servers: list[Any] = []
    try:
        if opts.metrics_port:
            servers.append(
                start_http_server(opts.metrics_port, addr=opts.bind_address, registry=metrics.registry)
            )
        if opts.health_port:
            health = HealthServer(opts.bind_address, opts.health_port, synced.is_set)
            health.start()
            servers.append(health)
    except OSError as err:
        print(f"tmc-controller: cannot listen: {err}", file=sys.stderr)
        return 2
    try:
        if manager.start_informers(timeout=60):
            synced.set()
        else:
            log.warning("hub caches not synced after 60 s; /readyz stays 503 until they are")

            def wait_then_ready() -> None:
                if all(i.wait_for_sync(None) for i in manager.informers()):
                    synced.set()

            threading.Thread(target=wait_then_ready, name="wait-sync", daemon=True).start()
        if opts.leader_elect:
            identity = f"{socket.gethostname()}-{os.getpid()}"
            elector = LeaderElector(
                home, name=opts.lease_name, namespace=opts.lease_namespace, identity=identity
            )
            elector.run(stop, manager.run_controllers)
        else:
            manager.run_controllers(stop)
    finally:
        manager.stop()
        members.close()
        for s in servers:
            if isinstance(s, HealthServer):
                s.stop()
            elif isinstance(s, tuple):
                s[0].shutdown()
        for c in opened:
            c.close()
    return 0


def run() -> None:
    """Console entry point: ``main`` on sys.argv, stopping cleanly on SIGTERM and SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sys.exit(main(sys.argv[1:], stop=stop))
