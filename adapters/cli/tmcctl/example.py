"""``tmcctl example``: print the bundled example manifests (``tmcctl example > fleet.yaml``)."""

from __future__ import annotations

import typer

from tmc_core.examples import example_text

__all__ = ["example"]


def example() -> None:
    """Print an example fleet, workloads and placements (YAML, with comments) to stdout."""
    typer.echo(example_text(), nl=False)
