"""Connections to member clusters: from a kubeconfig context or from a Secret's data, to a
configured ``kubernetes.client.ApiClient``.

Credentials stay inside :class:`Connection` (its ``repr`` redacts them; nothing here logs them).
TLS verification is on unless ``insecure_skip_tls_verify`` is set explicitly, and a CA bundle is
then not allowed at the same time (the two contradict each other). Client certificates are
handed to the HTTP library as files, written with mode 0600 into a private temporary directory
that :meth:`ConnectedClient.close` removes.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tmc_kube.errors import InvalidConfig

__all__ = ["SECRET_KEYS", "ConnectedClient", "Connection", "connect"]

SECRET_KEYS = {
    "server": "API server URL (https://host:port)",
    "token": "bearer token",
    "ca.crt": "CA bundle (PEM) that signs the server's certificate",
    "tls.crt": "client certificate (PEM)",
    "tls.key": "client private key (PEM)",
    "insecure-skip-tls-verify": '"true" to skip TLS verification (explicit opt-out; no ca.crt then)',
    "tls-server-name": "name to verify the server certificate against, when not the URL host",
    "kubeconfig": "a whole kubeconfig (its current context is used) instead of the keys above",
}
"""Keys read from a Secret's ``data`` (base64) or ``stringData``."""


@dataclass(frozen=True, repr=False)
class Connection:
    """Where a cluster is and how to authenticate to it; immutable, credentials redacted in repr."""

    name: str
    server: str
    ca_data: bytes = b""
    token: str = ""
    client_cert_data: bytes = b""
    client_key_data: bytes = b""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    _source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self._source or f"connection {self.name}"
        if not self.server.startswith(("https://", "http://")):
            raise InvalidConfig(f"expected an https:// URL, got {self.server!r}", obj=where, path="server")
        if bool(self.client_cert_data) != bool(self.client_key_data):
            raise InvalidConfig("client certificate and key must be given together", obj=where)
        if self.insecure_skip_tls_verify and self.ca_data:
            raise InvalidConfig(
                "a CA bundle and insecure-skip-tls-verify contradict each other; drop one", obj=where
            )

    def __repr__(self) -> str:
        auth = [k for k, v in (("token", self.token), ("client-certificate", self.client_cert_data)) if v]
        return (
            f"Connection(name={self.name!r}, server={self.server!r}, auth={'+'.join(auth) or 'none'}, "
            f"ca={'bundle' if self.ca_data else 'system'}, verify_tls={not self.insecure_skip_tls_verify})"
        )

    __str__ = __repr__

    # -- sources ----------------------------------------------------------------------------------

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], context: str | None = None) -> Connection:
        """Read one context of a kubeconfig file (its current context by default).

        Supports certificate-authority(-data), client-certificate(-data), client-key(-data), token,
        tokenFile, insecure-skip-tls-verify and tls-server-name; file paths are relative to the
        kubeconfig's directory. exec and auth-provider plugins are not supported (InvalidConfig).
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise InvalidConfig(f"cannot read kubeconfig: {err.strerror}", source=str(path)) from None
        return cls.from_kubeconfig_text(text, context=context, source=str(path), base_dir=path.parent)

    @classmethod
    def from_kubeconfig_text(
        cls,
        text: str,
        *,
        context: str | None = None,
        source: str = "kubeconfig",
        base_dir: Path | None = None,
    ) -> Connection:
        """Like :meth:`from_kubeconfig`, from the text of a kubeconfig (for example a Secret's)."""
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InvalidConfig(f"not YAML: {err}".splitlines()[0], source=source) from None
        if not isinstance(doc, dict):
            raise InvalidConfig("expected a kubeconfig mapping", source=source)
        name = context or doc.get("current-context") or ""
        if not name:
            raise InvalidConfig("no context given and no current-context set", source=source)
        ctx = _named(doc, "contexts", "context", name, source)
        cluster_name = ctx.get("cluster", "")
        user_name = ctx.get("user", "")
        cluster = _named(doc, "clusters", "cluster", cluster_name, source)
        user = _named(doc, "users", "user", user_name, source) if user_name else {}
        obj = f"context {name}"
        for unsupported in ("exec", "auth-provider", "username", "password"):
            if unsupported in user:
                raise InvalidConfig(
                    f"user {user_name!r} uses {unsupported}, which tmc does not support; "
                    "use a token or a client certificate",
                    source=source,
                    obj=obj,
                )

        def material(section: Mapping[str, Any], key: str, where: str) -> bytes:
            data = section.get(f"{key}-data")
            if data:
                return _b64(str(data), source, obj, f"{where}.{key}-data")
            file = section.get(key)
            if file:
                p = Path(str(file))
                if not p.is_absolute() and base_dir is not None:
                    p = base_dir / p
                try:
                    return p.read_bytes()
                except OSError as err:
                    raise InvalidConfig(
                        f"cannot read {p}: {err.strerror}", source=source, obj=obj, path=f"{where}.{key}"
                    ) from None
            return b""

        token = str(user.get("token") or "")
        if not token and user.get("tokenFile"):
            token_path = Path(str(user["tokenFile"]))
            if not token_path.is_absolute() and base_dir is not None:
                token_path = base_dir / token_path
            try:
                token = token_path.read_text().strip()
            except OSError as err:
                raise InvalidConfig(
                    f"cannot read {token_path}: {err.strerror}", source=source, obj=obj, path="user.tokenFile"
                ) from None
        return cls(
            name=name,
            server=str(cluster.get("server") or ""),
            ca_data=material(cluster, "certificate-authority", "cluster"),
            token=token,
            client_cert_data=material(user, "client-certificate", "user"),
            client_key_data=material(user, "client-key", "user"),
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            tls_server_name=str(cluster.get("tls-server-name") or ""),
            _source=f"{source}: {obj}",
        )

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any], *, name: str | None = None) -> Connection:
        """Read a Secret (a dict as the API returns it) holding the keys of :data:`SECRET_KEYS`.

        ``data`` values are base64 (as stored); ``stringData`` values are plain. ``name`` defaults
        to the Secret's name.
        """
        raw_meta = secret.get("metadata")
        meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
        ns, sname = meta.get("namespace", ""), meta.get("name", "?")
        obj = f"Secret {ns}/{sname}" if ns else f"Secret {sname}"
        values: dict[str, bytes] = {}
        data = secret.get("data") or {}
        if not isinstance(data, Mapping):
            raise InvalidConfig("expected a mapping", obj=obj, path="data")
        for key, raw in data.items():
            values[str(key)] = _b64(str(raw), "", obj, f"data.{key}")
        string_data = secret.get("stringData") or {}
        if isinstance(string_data, Mapping):
            for key, raw in string_data.items():
                values[str(key)] = str(raw).encode()
        unknown = sorted(set(values) - set(SECRET_KEYS))
        if unknown:
            raise InvalidConfig(
                f"unknown key {unknown[0]!r}; expected some of {', '.join(SECRET_KEYS)}", obj=obj, path="data"
            )
        if "kubeconfig" in values:
            conn = cls.from_kubeconfig_text(_text(values["kubeconfig"], obj, "kubeconfig"), source=obj)
            return conn if name is None else _renamed(conn, name)
        if "server" not in values:
            raise InvalidConfig("missing key 'server' (or 'kubeconfig')", obj=obj, path="data")
        insecure = _text(values.get("insecure-skip-tls-verify", b"false"), obj, "insecure-skip-tls-verify")
        if insecure.strip().lower() not in ("true", "false"):
            raise InvalidConfig(
                f'expected "true" or "false", got {insecure!r}', obj=obj, path="data.insecure-skip-tls-verify"
            )
        return cls(
            name=name or str(sname),
            server=_text(values["server"], obj, "server").strip(),
            ca_data=values.get("ca.crt", b""),
            token=_text(values.get("token", b""), obj, "token").strip(),
            client_cert_data=values.get("tls.crt", b""),
            client_key_data=values.get("tls.key", b""),
            insecure_skip_tls_verify=insecure.strip().lower() == "true",
            tls_server_name=_text(values.get("tls-server-name", b""), obj, "tls-server-name").strip(),
            _source=obj,
        )


def _renamed(conn: Connection, name: str) -> Connection:
    return Connection(
        name=name,
        server=conn.server,
        ca_data=conn.ca_data,
        token=conn.token,
        client_cert_data=conn.client_cert_data,
        client_key_data=conn.client_key_data,
        insecure_skip_tls_verify=conn.insecure_skip_tls_verify,
        tls_server_name=conn.tls_server_name,
        _source=conn._source,
    )


def _named(doc: Mapping[str, Any], section: str, inner: str, name: str, source: str) -> dict[str, Any]:
    items = doc.get(section) or []
    if isinstance(items, list):
        for item in items:
            if (
                isinstance(item, Mapping)
                and item.get("name") == name
                and isinstance(item.get(inner), Mapping)
            ):
                return dict(item[inner])
    raise InvalidConfig(f"no entry named {name!r}", source=source, path=section)


def _b64(raw: str, source: str, obj: str, path: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidConfig("not valid base64", source=source, obj=obj, path=path) from None


def _text(raw: bytes, obj: str, key: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidConfig("not UTF-8 text", obj=obj, path=f"data.{key}") from None


class ConnectedClient:
    """A ``kubernetes.client.ApiClient`` for a :class:`Connection`, plus the private files the
    HTTP library needs; use as a context manager or call :meth:`close`."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0) -> None:
        from kubernetes import client

        self.connection = connection
        self._dir = tempfile.mkdtemp(prefix="tmc-kube-")
        os.chmod(self._dir, 0o700)
        cfg = client.Configuration()
        cfg.host = connection.server.rstrip("/")
        cfg.verify_ssl = not connection.insecure_skip_tls_verify
        if connection.ca_data:
            cfg.ssl_ca_cert = self._write("ca.crt", connection.ca_data)
        if connection.client_cert_data:
            cfg.cert_file = self._write("tls.crt", connection.client_cert_data)
            cfg.key_file = self._write("tls.key", connection.client_key_data)
        if connection.token:
            cfg.api_key = {"authorization": connection.token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        if connection.tls_server_name:
            cfg.tls_server_name = connection.tls_server_name
        cfg.retries = 0  # retries are tmc_kube.backoff's job, not urllib3's
        self.timeout = timeout
        self.api_client: Any = client.ApiClient(cfg)

    def _write(self, name: str, data: bytes) -> str:
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def close(self) -> None:
        """Close the HTTP pool and remove the credential files."""
        try:
            self.api_client.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ConnectedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConnectedClient({self.connection.name}, {self.connection.server})"


def connect(connection: Connection, *, timeout: float = 30.0) -> ConnectedClient:
    """A configured ApiClient for ``connection`` (see :class:`ConnectedClient`)."""
    return ConnectedClient(connection, timeout=timeout)
