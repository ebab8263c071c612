"""The ``tmcctl`` command line: one typer app, one module per command.

Commands are registered below; a new command is a module with one function taking typer-annotated
parameters (reusing ``tmcctl.inputs.FilesOption`` and ``inventory_or_exit`` to read manifests).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version

import typer

from tmcctl.example import example
from tmcctl.place import place
from tmcctl.simulate import simulate
from tmcctl.validate import validate

__all__ = ["app", "run"]

DISTRIBUTION = "tmc"

app = typer.Typer(
    name="tmcctl",
    help="Transparent multi-cluster placement for kcp and Kubernetes: validate and place manifests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def version() -> None:
    """Print the tmc version."""
    try:
        number = distribution_version(DISTRIBUTION)
    except PackageNotFoundError:
        number = "unknown (not installed)"
    typer.echo(f"{DISTRIBUTION} {number}")


app.command("place")(place)
app.command("simulate")(simulate)
app.command("validate")(validate)
app.command("example")(example)
app.command("version")(version)


def run() -> None:
    """Console-script entry point (``tmcctl``)."""
    app()


if __name__ == "__main__":
    run()
