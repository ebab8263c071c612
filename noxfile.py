"""Developer sessions: tests, lint, typecheck, layering, notebooks, bench, integration.

Each session installs the project from its own pyproject extras into a fresh virtualenv, so a
session that passes here passes on a clean machine.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "layering"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """The default unit and property suite (no servers needed)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on tmc_core."""
    session.install("-e", ".[dev]")
    session.run("mypy", "tmc_core", "adapters/kube/tmc_kube", "adapters/kcp/tmc_kcp", "adapters/cli/tmcctl")


@nox.session
def layering(session: nox.Session) -> None:
    """import-linter: tmc_core imports no adapter; adapters do not import the CLI."""
    session.install("-e", ".[dev]")
    session.run("lint-imports")


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute every notebook (they are documentation that runs)."""
    books = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    if not books:
        session.skip("no notebooks yet")
    session.install("-e", ".[notebooks]")
    session.run("python", "-m", "pytest", "--nbmake", "-q", "-p", "no:cacheprovider", *books)


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark suites and the scaling study (prints the published table)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "benchmarks", "-q", "--benchmark-only", *session.posargs)
    session.run("python", "benchmarks/scaling.py", "--quick")


@nox.session
def integration(session: nox.Session) -> None:
    """Adapter tests against real API servers started on loopback."""
    tests_dir = ROOT / "tests" / "integration"
    if not tests_dir.exists():
        session.skip("no integration tests yet (they arrive with the Kubernetes adapter)")
    session.run(str(ROOT / "tools" / "ensure-etcd"), external=True)
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "-m", "integration", str(tests_dir), *session.posargs)


@nox.session
def peers(session: nox.Session) -> None:
    """Differential tests against Karmada's own scheduler (Go builds the peer once, cached)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "tests/peers", "-m", "peers", *session.posargs)
