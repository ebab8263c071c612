"""Connections from kubeconfigs and Secrets: credentials redacted, TLS verification explicit."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import yaml

from tmc_kube import Connection, InvalidConfig, connect


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


CA = b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def _kubeconfig(tmp_path: Path) -> Path:
    (tmp_path / "client.key").write_bytes(b"KEY-MATERIAL")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "member-1",
        "clusters": [
            {
                "name": "c1",
                "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": _b64(CA)},
            },
            {"name": "c2", "cluster": {"server": "https://10.0.0.2:6443", "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {"name": "admin", "user": {"client-certificate-data": _b64("CERT"), "client-key": "client.key"}},
            {"name": "robot", "user": {"token": "s3cr3t-token"}},
        ],
        "contexts": [
            {"name": "member-1", "context": {"cluster": "c1", "user": "admin"}},
            {"name": "other", "context": {"cluster": "c2", "user": "robot"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_kubeconfig_current_context_with_relative_key_file(tmp_path: Path) -> None:
    conn = Connection.from_kubeconfig(_kubeconfig(tmp_path))
    assert (conn.name, conn.server, conn.ca_data) == ("member-1", "https://127.0.0.1:6443", CA)
    assert (conn.client_cert_data, conn.client_key_data) == (b"CERT", b"KEY-MATERIAL")
    assert not conn.insecure_skip_tls_verify


def test_kubeconfig_named_context_and_its_explicit_tls_opt_out(tmp_path: Path) -> None:
    conn = Connection.from_kubeconfig(_kubeconfig(tmp_path), context="other")
    assert conn.token == "s3cr3t-token" and conn.insecure_skip_tls_verify


def test_credentials_never_appear_in_repr(tmp_path: Path) -> None:
    for conn in (
        Connection.from_kubeconfig(_kubeconfig(tmp_path)),
        Connection.from_kubeconfig(_kubeconfig(tmp_path), context="other"),
    ):
        text = repr(conn) + str(conn)
        for secret in ("s3cr3t-token", "KEY-MATERIAL", "CERT", _b64("CERT")):
            assert secret not in text
        assert conn.server in text


def test_secret_with_token_and_ca() -> None:
    secret = {
        "metadata": {"name": "member-1", "namespace": "tmc-system"},
        "data": {"server": _b64("https://10.1.2.3:6443"), "token": _b64("tok\n"), "ca.crt": _b64(CA)},
    }
    conn = Connection.from_secret(secret)
    assert (conn.name, conn.server, conn.token, conn.ca_data) == (
        "member-1",
        "https://10.1.2.3:6443",
        "tok",
        CA,
    )
    assert "tok" not in repr(conn).replace("token", "")


def test_secret_with_a_whole_kubeconfig(tmp_path: Path) -> None:
    text = (
        _kubeconfig(tmp_path).read_text().replace("client-key: client.key", f"client-key-data: {_b64('K')}")
    )
    conn = Connection.from_secret({"metadata": {"name": "s"}, "stringData": {"kubeconfig": text}}, name="m1")
    assert (conn.name, conn.client_key_data) == ("m1", b"K")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"token": _b64("t")}, "Secret tmc/bad: data: missing key 'server' (or 'kubeconfig')"),
        ({"server": "%%%"}, "Secret tmc/bad: data.server: not valid base64"),
        ({"server": _b64("https://x"), "pasword": _b64("x")}, "Secret tmc/bad: data: unknown key 'pasword'"),
        (
            {"server": _b64("https://x"), "ca.crt": _b64(CA), "insecure-skip-tls-verify": _b64("true")},
            "Secret tmc/bad: a CA bundle and insecure-skip-tls-verify contradict each other; drop one",
        ),
        (
            {"server": _b64("https://x"), "insecure-skip-tls-verify": _b64("yes")},
            'expected "true" or "false"',
        ),
        (
            {"server": _b64("https://x"), "tls.crt": _b64("c")},
            "client certificate and key must be given together",
        ),
        ({"server": _b64("10.0.0.1:6443")}, "Secret tmc/bad: server: expected an https:// URL"),
    ],
)
def test_bad_secrets_are_one_line_naming_the_field(data: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        Connection.from_secret({"metadata": {"name": "bad", "namespace": "tmc"}, "data": data})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_exec_plugins_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "kc"
    path.write_text(
        yaml.safe_dump(
            {
                "current-context": "eks",
                "clusters": [{"name": "c", "cluster": {"server": "https://x"}}],
                "users": [{"name": "u", "user": {"exec": {"command": "aws"}}}],
                "contexts": [{"name": "eks", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    with pytest.raises(InvalidConfig, match="user 'u' uses exec"):
        Connection.from_kubeconfig(path)


def test_client_files_are_private_and_removed_on_close(tmp_path: Path) -> None:
    conn = Connection.from_kubeconfig(_kubeconfig(tmp_path))
    client = connect(conn)
    cfg = client.api_client.configuration
    assert cfg.verify_ssl and cfg.host == "https://127.0.0.1:6443"
    key_file = Path(cfg.key_file)
    assert key_file.read_bytes() == b"KEY-MATERIAL"
    assert os.stat(key_file).st_mode & 0o077 == 0
    client.close()
    assert not key_file.exists()
    insecure = connect(Connection.from_kubeconfig(_kubeconfig(tmp_path), context="other"))
    assert insecure.api_client.configuration.verify_ssl is False
    insecure.close()
