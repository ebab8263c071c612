"""Reading the user's files (the CLI's I/O), handing the texts to tmc_core, and reporting problems.

Every user error ends here as one line on stderr and exit code 2; commands that read manifests use
``FilesOption`` and ``inventory_or_exit`` so they all behave the same.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tmc_core.manifests import Inventory, try_read_inventory

__all__ = [
    "STDIN",
    "USER_ERROR",
    "FilesOption",
    "fail",
    "inventory_or_exit",
    "one_line",
    "read_sources",
]

STDIN = "-"
USER_ERROR = 2

FilesOption = Annotated[
    list[str],
    typer.Option(
        "--filename",
        "-f",
        metavar="FILE",
        help="YAML or JSON manifests (several documents each); '-' reads standard input. Repeatable.",
        show_default=False,
    ),
]


def one_line(text: str) -> str:
    """A message as exactly one line (newlines escaped), as the CLI promises."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def fail(problems: Iterable[str]) -> NoReturn:
    """Print each problem as one line on stderr and exit with the user-error code."""
    for problem in problems:
        typer.echo(one_line(problem), err=True)
    raise typer.Exit(USER_ERROR)


def _read(name: str) -> str:
    """The text of a file or of stdin; raises ``ValueError`` with a one-line reason."""
    try:
        data = sys.stdin.buffer.read() if name == STDIN else Path(name).read_bytes()
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except IsADirectoryError:
        raise ValueError("is a directory (give the manifest files in it)") from None
    except PermissionError:
        raise ValueError("permission denied") from None
    except OSError as err:
        raise ValueError(f"cannot read: {err.strerror or err}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = data[err.start]
        raise ValueError(
            f"not UTF-8 text (byte 0x{bad:02x} at offset {err.start}); manifests must be UTF-8"
        ) from None


def source_name(name: str) -> str:
    """How a file is named in messages (stdin is ``<stdin>``)."""
    return "<stdin>" if name == STDIN else name


def read_sources(files: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, text) of every readable file, and one problem line per file that could not be read."""
    sources: list[tuple[str, str]] = []
    problems: list[str] = []
    stdin_used = False
    for name in files:
        if name == STDIN:
            if stdin_used:
                problems.append(f"{source_name(name)}: standard input given more than once")
                continue
            stdin_used = True
        try:
            sources.append((source_name(name), _read(name)))
        except ValueError as err:
            problems.append(f"{source_name(name)}: {err}")
    return sources, problems


def inventory_or_exit(files: Sequence[str]) -> Inventory:
    """Read the files into an Inventory, or print every problem found and exit 2.

    Unreadable files and bad documents are all reported together, one line each.
    """
    if not files:
        fail(["no input: give manifests with -f FILE (or -f - for standard input)"])
    sources, problems = read_sources(files)
    inventory, invalid = try_read_inventory(sources)
    problems.extend(str(err) for err in invalid)
    if problems or inventory is None:
        fail(problems)
    return inventory
