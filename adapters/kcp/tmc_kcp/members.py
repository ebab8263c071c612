"""Member clusters' clients, by ClusterRegistration name: from a kubeconfig's contexts or from Secrets.

A kubeconfig source maps each context name to a cluster of the same name. A Secret source reads the
Secret ``<namespace>/<cluster name>`` on the hub (keys as ``tmc_kube.SECRET_KEYS``) and reconnects when
the Secret's resourceVersion changes, so rotated credentials are picked up. Credentials stay inside
``tmc_kube.Connection`` and are never logged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from tmc_kube import Connection, InvalidConfig, KubeClient, KubePort, NotFound, ObjectRef, connect

__all__ = ["Members"]

Resolver = Callable[[str], tuple[str, Connection] | None]


class Members:
    """Cluster name -> ``KubePort`` (``None`` when there are no credentials for it)."""

    def __init__(
        self,
        resolve: Resolver | None = None,
        *,
        ports: Mapping[str, KubePort] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._resolve = resolve
        self._fixed = dict(ports or {})
        self._timeout = timeout
        self._live: dict[str, tuple[str, KubePort, object]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_ports(cls, ports: Mapping[str, KubePort]) -> Members:
        """Fixed ports (tests, in-memory fakes)."""
        return cls(ports=ports)

    @classmethod
    def from_kubeconfig(cls, path: str, *, timeout: float = 10.0) -> Members:
        """Every context of the kubeconfig ``path`` is the member cluster of that name."""
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise InvalidConfig(f"cannot read kubeconfig: {err}".splitlines()[0], source=path) from None
        contexts = {str(c.get("name")) for c in doc.get("contexts") or () if isinstance(c, Mapping)}

        def resolve(name: str) -> tuple[str, Connection] | None:
            if name not in contexts:
                return None
            return "kubeconfig", Connection.from_kubeconfig(path, context=name)

        return cls(resolve, timeout=timeout)

    @classmethod
    def from_secrets(cls, hub: KubePort, namespace: str, *, timeout: float = 10.0) -> Members:
        """Secret ``namespace/<cluster>`` on the hub holds each member's credentials."""

        def resolve(name: str) -> tuple[str, Connection] | None:
            try:
                secret = hub.get(ObjectRef("v1", "Secret", namespace, name))
            except NotFound:
                return None
            version = str((secret.get("metadata") or {}).get("resourceVersion", ""))
            return version, Connection.from_secret(secret, name=name)

        return cls(resolve, timeout=timeout)

    def port(self, name: str) -> KubePort | None:
        """The client of member ``name``; ``InvalidConfig`` when its credentials are malformed."""
        if name in self._fixed:
            return self._fixed[name]
        if self._resolve is None:
            return None
        found = self._resolve(name)
        with self._lock:
            if found is None:
                self._drop_locked(name)
                return None
            version, connection = found
            live = self._live.get(name)
            if live is not None and live[0] == version and version:
                return live[1]
            self._drop_locked(name)
            connected = connect(connection, timeout=self._timeout)
            client = KubeClient(connected.api_client, timeout=self._timeout)
            self._live[name] = (version, client, connected)
            return client

    def _drop_locked(self, name: str) -> None:
        live = self._live.pop(name, None)
        if live is not None:
            live[2].close()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close every connection made."""
        with self._lock:
            for name in list(self._live):
                self._drop_locked(name)
