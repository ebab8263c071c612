"""Typed errors of tmc_core: one base class, and invalid input that names where it came from.

Unschedulable workloads are *results*, never exceptions; these are for input a user must fix.
"""

from __future__ import annotations

__all__ = ["InvalidInput", "QuantityError", "TmcError"]


class TmcError(Exception):
    """Base class of every error raised by tmc."""


class InvalidInput(TmcError, ValueError):
    """Input that cannot be accepted; the message names the source, the object and the field path.

    ``str(err)`` is one line: ``"<source>: <object>: <field path>: <problem>"`` with empty parts left out,
    so the CLI can print it as is.
    """

    def __init__(self, problem: str, *, path: str = "", obj: str = "", source: str = "") -> None:
        self.problem = problem
        self.path = path
        self.obj = obj
        self.source = source
        super().__init__(self._line())

    def _line(self) -> str:
        parts = [p for p in (self.source, self.obj, self.path) if p]
        return ": ".join([*parts, self.problem])

    def within(self, *, path: str = "", obj: str = "", source: str = "") -> InvalidInput:
        """Return a copy located more precisely: a path prefix, and the object/source if not yet known."""
        joined = self.path
        if path:
            joined = (
                f"{path}.{self.path}" if self.path and not self.path.startswith("[") else path + self.path
            )
        return type(self)(
            self.problem,
            path=joined,
            obj=self.obj or obj,
            source=self.source or source,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.problem, self.path, self.obj, self.source))


def _rebuild(cls: type[InvalidInput], problem: str, path: str, obj: str, source: str) -> InvalidInput:
    return cls(problem, path=path, obj=obj, source=source)


class QuantityError(InvalidInput):
    """A Kubernetes quantity string that does not parse ("12 cores", "1.5.0", "5KB")."""
