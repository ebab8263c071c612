"""Real API servers on loopback for integration tests: etcd from Debian, kube-apiserver built from Go modules.

The kube-apiserver binary is built once per machine from tools/kube-apiserver (a Go module of ours that
pins k8s.io/kubernetes and its published staging modules) into a cache outside the clone, keyed by the
Kubernetes version and a hash of the module files, so only the first run on a machine pays for the build.
Every server gets its own throwaway CA, admin client certificate and etcd prefix; several run at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.integration.pki import Pki, write_pki

__all__ = [
    "KUBE_VERSION",
    "ApiServer",
    "Etcd",
    "KcpServer",
    "ServerSet",
    "kcp_binary",
    "kcp_missing",
    "kube_apiserver_binary",
    "missing_prerequisites",
]

KUBE_VERSION = "v1.36.3"
REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "tools" / "kube-apiserver"
READY_TIMEOUT_S = 60.0


def cache_dir() -> Path:
    """Where built binaries live: $TMC_CACHE, else $XDG_CACHE_HOME/tmc, else ~/.cache/tmc."""
    if os.environ.get("TMC_CACHE"):
        return Path(os.environ["TMC_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tmc"


def _cached(module: Path, name: str, version: str) -> Path:
    """Where the binary built from Go module ``module`` lives: keyed by version and module files."""
    digest = hashlib.sha256()
    for part in ("go.mod", "go.sum"):
        digest.update((module / part).read_bytes())
    return cache_dir() / "bin" / f"{name}-{version}-{digest.hexdigest()[:12]}"


def _cached_binary() -> Path:
    return _cached(MODULE, "kube-apiserver", KUBE_VERSION)


def etcd_binary() -> Path | None:
    """The etcd server binary ($TMC_ETCD, else etcd on PATH, else Debian's /usr/bin/etcd)."""
    for candidate in (os.environ.get("TMC_ETCD"), shutil.which("etcd"), "/usr/bin/etcd"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def missing_prerequisites() -> str | None:
    """One line naming what this machine lacks to run real servers, or None when it has everything."""
    if etcd_binary() is None:
        return "integration tests skipped: etcd not found (install Debian's etcd-server package)"
    if not _cached_binary().is_file() and shutil.which("go") is None:
        return "integration tests skipped: Go not found, and no cached kube-apiserver to use instead"
    return None


def kube_apiserver_binary() -> Path:
    """The cached kube-apiserver, building it first (under a file lock, so parallel runs build once)."""
    return _build_cached(_cached_binary(), MODULE, "k8s.io/kubernetes/cmd/kube-apiserver", {})


def _build_cached(target: Path, module: Path, package: str, extra_env: dict[str, str]) -> Path:
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{module.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        partial = target.with_suffix(".partial")
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", **extra_env}
        started = time.monotonic()
        result = subprocess.run(
            ["go", "build", "-trimpath", "-o", str(partial), package],
            cwd=module,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building {package} failed:\n{result.stderr[-4000:]}")
        partial.rename(target)
        (target.parent / f"{target.name}.build-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    return target


KCP_VERSION = "v0.28.0"
KCP_MODULE = REPO / "tools" / "kcp"


def _cached_kcp() -> Path:
    return _cached(KCP_MODULE, "kcp", KCP_VERSION)


def kcp_missing() -> str | None:
    """One line naming why kcp cannot run here, or None."""
    if not _cached_kcp().is_file() and shutil.which("go") is None:
        return "kcp tests skipped: Go not found, and no cached kcp binary to use instead"
    return None


def kcp_binary() -> Path:
    """The cached kcp binary, built first from tools/kcp (kcp's Kubernetes fork, from Go modules)."""
    return _build_cached(
        _cached_kcp(),
        KCP_MODULE,
        "github.com/kcp-dev/kcp/cmd/kcp",
        # kcp's fork modules are served by the module proxy but not listed in the checksum
        # database; go.sum (committed) pins their hashes instead.
        {"GONOSUMDB": "github.com/kcp-dev"},
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@dataclass
class Etcd:
    """One etcd member on loopback with its data in `directory`."""

    directory: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        binary = etcd_binary()
        if binary is None:
            raise RuntimeError("etcd not found")
        self.directory.mkdir(parents=True, exist_ok=True)
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.directory / "etcd.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [
                str(binary),
                "--name=tmc-test",
                f"--data-dir={self.directory / 'data'}",
                f"--listen-client-urls={self.url}",
                f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=tmc-test={peer}",
                "--log-level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(lambda: _http_ok(f"{self.url}/health"), f"etcd at {self.url}", self.process)

    def stop(self) -> None:
        _stop_process(self.process)


@dataclass
class ApiServer:
    """A kube-apiserver on loopback with its own CA, admin client certificate and etcd prefix."""

    name: str
    etcd: Etcd
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    pki: Pki | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self.pki is not None
        return self.pki.ca_cert

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def start(self) -> None:
        """Start (or start again, on the same port and prefix) and block until /readyz answers ok."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.pki is None:
            self.pki = write_pki(self.directory / "pki", self.name)
            self.token = hashlib.sha256(os.urandom(32)).hexdigest()[:32]
            (self.directory / "tokens.csv").write_text(
                f"{self.token},tmc-token-admin,tmc-token-admin,system:masters\n"
            )
            self._write_kubeconfig()
        pki = self.pki
        log = open(self.directory / "kube-apiserver.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [
                str(kube_apiserver_binary()),
                f"--etcd-servers={self.etcd.url}",
                f"--etcd-prefix=/{self.name}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--token-auth-file={self.directory / 'tokens.csv'}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                # No controller-manager runs, so nothing would create the default ServiceAccount pods need.
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                f"--cert-dir={self.directory / 'certs'}",
                "--v=1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(self._ready, f"kube-apiserver {self.name} at {self.url}", self.process)

    def stop(self) -> None:
        _stop_process(self.process)

    def restart(self) -> None:
        """Stop the server and start it again on the same port, etcd prefix and credentials."""
        self.stop()
        self.start()

    def api_client(self) -> Any:
        """A kubernetes.client.ApiClient for this server with the admin client certificate."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        return client.ApiClient(configuration)

    def _ssl_context(self) -> ssl.SSLContext:
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _ready(self) -> bool:
        return _http_ok(f"{self.url}/readyz", self._ssl_context())

    def _write_kubeconfig(self) -> None:
        assert self.pki is not None
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {"server": self.url, "certificate-authority": str(self.pki.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": f"{self.name}-admin",
                    "user": {
                        "client-certificate": str(self.pki.admin_cert),
                        "client-key": str(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin"}}
            ],
            "current-context": self.name,
        }
        self.kubeconfig.write_text(yaml.safe_dump(document, sort_keys=False))


def _http_ok(url: str, context: ssl.SSLContext | None = None, token: str = "") -> bool:
    request = urllib.request.Request(url, headers={"Authorization": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def _wait_until(
    ready: Any, what: str, process: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s")


@dataclass
class KcpServer:
    """kcp (`kcp start`, embedded etcd) on loopback; its admin kubeconfig has contexts root and base."""

    directory: Path
    port: int = field(default_factory=free_port)
    etcd_client_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    def start(self) -> None:
        """Start kcp and block until the root workspace answers /readyz."""
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "kcp.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [
                str(kcp_binary()),
                "start",
                f"--root-directory={self.directory}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--embedded-etcd-client-port={self.etcd_client_port}",
                f"--embedded-etcd-peer-port={self.etcd_peer_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(self._ready, f"kcp at {self.url}", self.process, timeout=120.0)

    def stop(self) -> None:
        _stop_process(self.process)

    def api_client(self, context: str = "root") -> Any:
        """A kubernetes.client.ApiClient for a context of kcp's admin kubeconfig."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), context=context, client_configuration=configuration
        )
        return client.ApiClient(configuration)

    def _ready(self) -> bool:
        if not self.kubeconfig.is_file():
            return False
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), context="base", client_configuration=configuration
        )
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        token = configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization", "")
        return _http_ok(f"{self.url}/readyz", context, token)


@dataclass
class ServerSet:
    """One etcd shared by a hub and member API servers (distinct etcd prefixes), stopped together."""

    etcd: Etcd
    servers: list[ApiServer]

    @property
    def hub(self) -> ApiServer:
        return self.servers[0]

    @property
    def members(self) -> list[ApiServer]:
        return self.servers[1:]

    @classmethod
    @contextlib.contextmanager
    def running(cls, names: Sequence[str], directory: Path | None = None) -> Iterator[ServerSet]:
        """Start etcd and one API server per name (the first is the hub); stop all on exit, even on error."""
        kube_apiserver_binary()
        with contextlib.ExitStack() as stack:
            if directory is None:
                directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tmc-servers-")))
            etcd = Etcd(directory / "etcd")
            stack.callback(etcd.stop)
            etcd.start()
            servers = []
            for name in names:
                server = ApiServer(name, etcd, directory / name)
                stack.callback(server.stop)
                servers.append(server)
            for server in servers:
                server.start()
            yield cls(etcd, servers)
