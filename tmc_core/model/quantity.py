"""Exact Kubernetes resource quantities ("500m", "2Gi", "1e3"), so capacity arithmetic never drifts.

The semantics follow Kubernetes' ``resource.Quantity`` (k8s.io/apimachinery): the same grammar,
values kept down to 1n (finer values are rounded away from zero), the suffix family remembered as
the format, and the same canonical string form. The value is held as an integer count of
nano-units, so arithmetic is exact; floats are never used internally.
"""

from __future__ import annotations

import json
import math
import re
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final, NoReturn, TypeAlias

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from tmc_core.errors import QuantityError

__all__ = ["Quantity", "QuantityFormat", "QuantityLike", "parse_quantity"]

QuantityLike: TypeAlias = "str | int | float | Quantity"
"""What :meth:`Quantity.parse` accepts: a quantity string, an int, a float or a Quantity."""


class QuantityFormat(StrEnum):
    """The suffix family a quantity was written in; its canonical string uses the same family."""

    DECIMAL_SI = "DecimalSI"  # 12M = 12 * 10^6, 500m
    BINARY_SI = "BinarySI"  # 12Mi = 12 * 2^20
    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6


_NANO: Final = 10**9
_EXPECTED: Final = "expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, e3, ...)"

# Decimal SI suffix -> power of ten, and back.
_DECIMAL_SUFFIXES: Final[dict[str, int]] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_DECIMAL_SUFFIX_OF: Final[dict[int, str]] = {exp: sfx for sfx, exp in _DECIMAL_SUFFIXES.items()}
# Binary SI suffix -> power of two, and (by power of 1024) back.
_BINARY_SUFFIXES: Final[dict[str, int]] = {
    "Ki": 10,
    "Mi": 20,
    "Gi": 30,
    "Ti": 40,
    "Pi": 50,
    "Ei": 60,
}
_BINARY_SUFFIX_OF: Final[tuple[str, ...]] = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")

# <sign>? (<digits> [. <digits>?] | . <digits>) then the rest, which must be a suffix.
_NUMBER_RE: Final = re.compile(r"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(.*)", re.ASCII | re.DOTALL)
_EXPONENT_RE: Final = re.compile(r"[eE]([+-]?)([0-9]+)", re.ASCII)
_WORDLIKE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+-]*", re.ASCII)  # reported as a bad suffix

# Guards against inputs such as "1e999999999" that would cost unbounded time and memory.
_MAX_DIGITS: Final = 1000  # significant digits written, and decimal digits of the integer part
_MAX_EXPONENT: Final = 10**6  # larger exponents behave like this one (too large, or below 1n)
_MAX_QUOTED: Final = 80  # longest input text quoted in full in an error message


def _quote(text: str) -> str:
    """The input as a one-line double-quoted string, shortened if very long."""
    if len(text) > _MAX_QUOTED:
        text = text[: _MAX_QUOTED - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def _fail(text: str, problem: str = _EXPECTED) -> NoReturn:
    raise QuantityError(f"invalid quantity {_quote(text)}: {problem}")


def _round_away(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded away from zero to an integer."""
    q, r = divmod(abs(numerator), denominator)
    if r:
        q += 1
    return q if numerator >= 0 else -q


def _parse_suffix(text: str, suffix: str) -> tuple[int, int, QuantityFormat]:
    """(power of ten, power of two, format) of a suffix; raises for an unknown one."""
    if suffix in _DECIMAL_SUFFIXES:
        return _DECIMAL_SUFFIXES[suffix], 0, QuantityFormat.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 0, _BINARY_SUFFIXES[suffix], QuantityFormat.BINARY_SI
    match = _EXPONENT_RE.fullmatch(suffix)
    if match is None:
        if _WORDLIKE_RE.fullmatch(suffix) is None:
            _fail(text)
        _fail(
            text,
            f"unknown suffix {_quote(suffix)} (expected n, u, m, k, M, G, T, P, E, "
            "Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)",
        )
    digits = match.group(2).lstrip("0") or "0"
    exponent = min(int(digits), _MAX_EXPONENT) if len(digits) <= 7 else _MAX_EXPONENT
    return (-exponent if match.group(1) == "-" else exponent), 0, QuantityFormat.DECIMAL_EXPONENT


def _parse_text(text: str) -> tuple[int, QuantityFormat]:
    """(value in nano-units, format) of a quantity string, following Kubernetes' ParseQuantity."""
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        _fail(text)
    sign, whole, frac_after_whole, frac_only, suffix = match.groups()
    fraction = (frac_after_whole if whole is not None else frac_only) or ""
    whole = (whole or "").lstrip("0")
    fraction = fraction.rstrip("0")
    ten_power, two_power, fmt = _parse_suffix(text, suffix)

    significant = whole + fraction
    if len(significant) > _MAX_DIGITS:
        _fail(text, f"more than {_MAX_DIGITS} significant digits")
    mantissa = int(significant) if significant else 0
    if mantissa == 0:
        return 0, fmt

    # value = mantissa * 10^(ten_power - len(fraction)) * 2^two_power; count it in nano-units.
    scale = ten_power - len(fraction) + 9
    if scale >= 0:
        if len(significant) + scale - 9 > _MAX_DIGITS:
            _fail(text, f"the value has more than {_MAX_DIGITS} digits")
        nanos = (mantissa << two_power) * 10**scale
    elif -scale > len(significant) + 20:
        nanos = 1  # far below 1n (2^60 < 10^19): rounds up to the smallest step, like Kubernetes
    else:
        nanos = _round_away(mantissa << two_power, 10**-scale)

    # A binary quantity below one unit has no binary spelling; Kubernetes switches it to decimal.
    if fmt is QuantityFormat.BINARY_SI and nanos < _NANO:
        fmt = QuantityFormat.DECIMAL_SI
    return (-nanos if sign == "-" else nanos), fmt


def _canonical(nanos: int, fmt: QuantityFormat) -> str:
    """Kubernetes' canonical string: no fractional digits, the largest suffix that loses nothing."""
    if nanos == 0:
        return "0"
    sign = "-" if nanos < 0 else ""
    magnitude = abs(nanos)

    if fmt is QuantityFormat.BINARY_SI and magnitude >= 1024 * _NANO and magnitude % _NANO == 0:
        whole = magnitude // _NANO
        power = 0
        while power < len(_BINARY_SUFFIX_OF) - 1 and whole % 1024 == 0:
            whole //= 1024
            power += 1
        if power:
            return f"{sign}{whole}{_BINARY_SUFFIX_OF[power]}"
        # No binary suffix fits: write decimal. Kubernetes prints the bare integer here ("5000"
        # where this prints "5k") and re-canonicalises it to "5k" once parsed back; writing decimal
        # keeps every string we emit a fixed point of parse-then-print.
    # Binary values below 1024 or not whole are written in decimal, as Kubernetes does.

    digits = str(magnitude)
    stripped = digits.rstrip("0")
    exponent = len(digits) - len(stripped) - 9
    shift = exponent % 3  # move the exponent down to a multiple of three
    mantissa = stripped + "0" * shift
    exponent -= shift
    if fmt is not QuantityFormat.DECIMAL_EXPONENT and exponent in _DECIMAL_SUFFIX_OF:
        return f"{sign}{mantissa}{_DECIMAL_SUFFIX_OF[exponent]}"
    # DecimalExponent, or a decimal value beyond "E" (10^18), which has no SI suffix.
    return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")


def _from_value(value: object) -> tuple[int, QuantityFormat]:
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, bool):
        raise QuantityError(
            f"invalid quantity {_quote(repr(value))}: expected a string or a number, not bool"
        )
    if isinstance(value, int):
        return value * _NANO, QuantityFormat.DECIMAL_SI
    if isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as this float: 1.5 -> "1.5"
        if not math.isfinite(value):
            _fail(text, "expected a finite number")
        return _parse_text(text)
    raise QuantityError(
        f"invalid quantity {_quote(repr(value))}: expected a string or a number, not {type(value).__name__}"
    )


class Quantity:
    """An exact, immutable Kubernetes quantity such as ``"500m"``, ``"2Gi"`` or ``"1e3"``.

    Equality, hashing and ordering use the numeric value only, so ``Quantity("1") ==
    Quantity("1000m")``; the format only decides how ``str()`` spells the value.
    """

    __slots__ = ("_format", "_nanos")

    _nanos: int
    _format: QuantityFormat

    def __init__(self, value: QuantityLike) -> None:
        """Parse ``value`` (see :meth:`parse`); raises ``QuantityError`` if it is not a quantity."""
        if isinstance(value, Quantity):
            nanos, fmt = value._nanos, value._format
        else:
            nanos, fmt = _from_value(value)
        object.__setattr__(self, "_nanos", nanos)
        object.__setattr__(self, "_format", fmt)

    @classmethod
    def _make(cls, nanos: int, fmt: QuantityFormat) -> Quantity:
        q = object.__new__(cls)
        object.__setattr__(q, "_nanos", nanos)
        object.__setattr__(q, "_format", fmt)
        return q

    @classmethod
    def parse(cls, value: QuantityLike) -> Quantity:
        """A quantity from a string (``"500m"``), an int (cores, bytes), a float or a Quantity.

        A float is read through its shortest text (1.5 -> ``"1.5"``), since YAML turns ``cpu: 1.5``
        into one; a bool is rejected. Raises ``QuantityError`` quoting the bad input.
        """
        if isinstance(value, Quantity):
            return value
        return cls(value)

    @classmethod
    def from_nanos(cls, nanos: int, fmt: QuantityFormat | str = QuantityFormat.DECIMAL_SI) -> Quantity:
        """A quantity of exactly ``nanos`` * 1e-9, in the given format."""
        if isinstance(nanos, bool) or not isinstance(nanos, int):
            raise TypeError(f"nanos must be an int, not {type(nanos).__name__}")
        return cls._make(nanos, QuantityFormat(fmt))

    # -- accessors ---------------------------------------------------------------------------

    @property
    def format(self) -> QuantityFormat:
        """``"DecimalSI"``, ``"BinarySI"`` or ``"DecimalExponent"`` (a ``QuantityFormat``)."""
        return self._format

    def as_fraction(self) -> Fraction:
        """The exact value."""
        return Fraction(self._nanos, _NANO)

    def nano_value(self) -> int:
        """The exact value in nano-units (every quantity is a whole number of them)."""
        return self._nanos

    def value(self) -> int:
        """The value rounded to an integer away from zero, like Kubernetes' ``Value()``."""
        return _round_away(self._nanos, _NANO)

    def milli_value(self) -> int:
        """The value in milli-units rounded away from zero, like Kubernetes' ``MilliValue()``."""
        return _round_away(self._nanos, _NANO // 1000)

    def is_zero(self) -> bool:
        """Whether the value is zero."""
        return self._nanos == 0

    def sign(self) -> int:
        """-1, 0 or 1."""
        return (self._nanos > 0) - (self._nanos < 0)

    # -- arithmetic --------------------------------------------------------------------------

    def _result_format(self, other: Quantity) -> QuantityFormat:
        # Kubernetes' Add/Sub keep the receiver's format, except that a zero takes the other's.
        return other._format if self._nanos == 0 else self._format

    def __add__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity._make(self._nanos + other._nanos, self._result_format(other))

    def __sub__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity._make(self._nanos - other._nanos, self._result_format(other))

    def __neg__(self) -> Quantity:
        return Quantity._make(-self._nanos, self._format)

    def __pos__(self) -> Quantity:
        return self

    def __abs__(self) -> Quantity:
        return self if self._nanos >= 0 else -self

    def __mul__(self, factor: object) -> Quantity:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Quantity._make(self._nanos * factor, self._format)

    __rmul__ = __mul__

    # -- comparison, hashing -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos == other._nanos

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos < other._nanos

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos <= other._nanos

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos > other._nanos

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos >= other._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    def __bool__(self) -> bool:
        return self._nanos != 0

    # -- text --------------------------------------------------------------------------------

    def __str__(self) -> str:
        return _canonical(self._nanos, self._format)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    # -- immutability, copying, pickling -------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Quantity is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Quantity is immutable (cannot delete {name!r})")

    def __copy__(self) -> Quantity:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Quantity:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._nanos, str(self._format)))

    # -- pydantic ----------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Validate str/int/float/Quantity input; serialise to the canonical string."""
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """A Kubernetes quantity: a string such as "500m" or "2Gi", or a number."""
        return {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": "Kubernetes quantity, e.g. 500m, 2Gi, 1e3",
        }


def _restore(nanos: int, fmt: str) -> Quantity:
    """Unpickle a quantity."""
    return Quantity.from_nanos(nanos, fmt)


def _validate(value: Any) -> Quantity:
    """Pydantic validator: the QuantityError text becomes the validation error's message."""
    try:
        return Quantity.parse(value)
    except QuantityError as err:
        raise PydanticCustomError("invalid_quantity", "{problem}", {"problem": str(err)}) from None


def parse_quantity(value: QuantityLike) -> Quantity:
    """Parse a Kubernetes quantity (same as :meth:`Quantity.parse`)."""
    return Quantity.parse(value)
