"""Find or build the Karmada peer program and run it on a converted document.

The binary is built once with the local Go toolchain (``GOTOOLCHAIN=local``) into
``~/.cache/tmc/bin/karmada-peer-<karmada version>-<hash of go.sum and main.go>`` (outside the
clone; ``$XDG_CACHE_HOME`` is honoured), so later runs only start it. Where Go is absent,
``unavailable()`` says so in one line and callers skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "HERE",
    "PeerError",
    "binary_path",
    "ensure_binary",
    "karmada_version",
    "run_peer",
    "run_peer_all",
    "unavailable",
]

HERE = Path(__file__).resolve().parent


class PeerError(RuntimeError):
    """The peer could not be built or did not answer; the message is one line."""


def karmada_version() -> str:
    """The Karmada release go.mod pins (``v1.16.0``)."""
    text = (HERE / "go.mod").read_text(encoding="utf-8")
    found = re.search(r"github\.com/karmada-io/karmada (v\S+)", text)
    if found is None:
        raise PeerError(f"{HERE / 'go.mod'}: no github.com/karmada-io/karmada requirement")
    return found.group(1)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tmc" / "bin"


def binary_path() -> Path:
    """Where the binary for the current sources lives (it may not exist yet)."""
    digest = hashlib.sha256()
    for name in ("go.sum", "main.go"):
        digest.update((HERE / name).read_bytes())
    return _cache_dir() / f"karmada-peer-{karmada_version()}-{digest.hexdigest()[:12]}"


def unavailable() -> str | None:
    """One line saying why the peer cannot run here, or None when it can (built or buildable)."""
    if binary_path().exists():
        return None
    if shutil.which("go") is None:
        return "Karmada peer skipped: no Go toolchain on PATH (needed once to build benchmarks/peers/karmada)"
    return None


def ensure_binary() -> Path:
    """The peer binary, built first if this version of the sources has none yet."""
    target = binary_path()
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise PeerError(unavailable() or "no Go toolchain")
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly -buildvcs=false"}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        proc = subprocess.run(
            [go, "build", "-trimpath", "-o", str(out), "."],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise PeerError(f"building the Karmada peer failed: {last}")
        os.replace(out, target)  # atomic: a concurrent run sees either nothing or the whole binary
    return target


def run_peer_all(
    documents: Sequence[dict[str, Any]], *, timeout: float | None = None
) -> list[dict[str, Any]]:
    """Run the peer once over several ``convert.karmada_input`` documents; one answer each, in order."""
    if not documents:
        return []
    binary = ensure_binary()
    payload = "\n".join(json.dumps(d, separators=(",", ":")) for d in documents)
    proc = subprocess.run(
        [str(binary)], input=payload.encode(), capture_output=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        raise PeerError(f"Karmada peer failed (exit {proc.returncode}): {last}")
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(answers) != len(documents):
        raise PeerError(f"Karmada peer answered {len(answers)} of {len(documents)} documents")
    return answers


def run_peer(document: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
    """Run the peer on one ``convert.karmada_input`` document; its JSON answer."""
    return run_peer_all([document], timeout=timeout)[0]
