"""Entry point of ``tmc-controller`` (placeholder until the kcp adapter lands)."""

from __future__ import annotations

import sys

__all__ = ["run"]


def run() -> None:
    """Say that the controller is not implemented yet, and exit 1."""
    print("tmc-controller: not implemented yet (see the kcp adapter issue)", file=sys.stderr)
    sys.exit(1)
