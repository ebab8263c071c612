"""The bundled example fleet (``tmcctl example``): twelve clusters, twenty workloads, placements
that between them use every feature of the policy vocabulary. Handy in notebooks and tests."""

from __future__ import annotations

from importlib.resources import files

from tmc_core.manifests import Inventory, read_inventory

__all__ = ["EXAMPLE_NAME", "example_inventory", "example_text"]

EXAMPLE_NAME = "example.yaml"
"""The name the example is reported under in messages."""


def example_text() -> str:
    """The example manifests (multi-document YAML with explanatory comments)."""
    return files("tmc_core").joinpath("data", EXAMPLE_NAME).read_text(encoding="utf-8")


def example_inventory() -> Inventory:
    """The example read into an Inventory."""
    return read_inventory([(EXAMPLE_NAME, example_text())])
