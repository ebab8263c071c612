"""Properties of Quantity and ResourceList: exact round trips, stable strings, arithmetic laws."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tmc_core.model.quantity import Quantity, QuantityFormat
from tmc_core.model.resources import ResourceList

DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

nanos = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-(10**40), max_value=10**40),
    # whole multiples of powers of 1024 and 1000, so binary and SI suffixes show up
    st.builds(
        lambda m, p: m * 1024**p * 10**9,
        st.integers(min_value=-2048, max_value=2048),
        st.integers(0, 8),
    ),
    st.builds(lambda m, p: m * 10**p, st.integers(min_value=-2000, max_value=2000), st.integers(0, 40)),
    # whole units that are multiples of 1000 but not of 1024 (binary without a binary suffix)
    st.builds(
        lambda m, p: m * 1000**p * 10**9,
        st.integers(min_value=-2000, max_value=2000),
        st.integers(0, 4),
    ),
)
formats = st.sampled_from(list(QuantityFormat))
from_nanos = st.builds(Quantity.from_nanos, nanos, formats)


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    """Well-formed quantity strings: sign, digits, optional fraction, any kind of suffix."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.from_regex(r"[0-9]{0,12}", fullmatch=True))
    frac = draw(st.none() | st.from_regex(r"[0-9]{0,12}", fullmatch=True))
    if not whole and not frac:
        whole = "0"
    number = whole + ("" if frac is None else "." + frac)
    kind = draw(st.sampled_from(["decimal", "binary", "exponent"]))
    if kind == "decimal":
        suffix = draw(st.sampled_from(sorted(DECIMAL)))
    elif kind == "binary":
        suffix = draw(st.sampled_from(sorted(BINARY)))
    else:
        exp = draw(st.integers(-30, 30))
        suffix = draw(st.sampled_from(["e", "E"])) + draw(st.sampled_from(["", "+"])) + str(exp)
        if exp < 0:
            suffix = suffix.replace("+", "")
    return sign + number + suffix


quantities = st.one_of(from_nanos, quantity_texts().map(Quantity))


def reference_value(text: str) -> Fraction:
    """An independent reading of a quantity string, rounded away from zero to 1n like Kubernetes."""
    m = re.fullmatch(r"([+-]?[0-9]*\.?[0-9]*)(.*)", text)
    assert m is not None
    number, suffix = m.groups()
    exact = Fraction(number if number.strip("+-.") else "0")
    if suffix in DECIMAL:
        exact *= Fraction(10) ** DECIMAL[suffix]
    elif suffix in BINARY:
        exact *= 2 ** BINARY[suffix]
    else:
        exact *= Fraction(10) ** int(suffix[1:])
    scaled = exact * 10**9
    rounded = math.ceil(abs(scaled)) * (1 if scaled >= 0 else -1)
    return Fraction(rounded, 10**9)


@given(quantity_texts())
def test_parse_matches_reference_reading(text: str) -> None:
    assert Quantity(text).as_fraction() == reference_value(text)


@given(quantity_texts())
def test_format_comes_from_the_suffix(text: str) -> None:
    q = Quantity(text)
    suffix = re.sub(r"^[+-]?[0-9.]*", "", text)
    if suffix in BINARY:
        below_one = 0 < abs(q.as_fraction()) < 1
        assert q.format == ("DecimalSI" if below_one else "BinarySI")
    elif suffix in DECIMAL:
        assert q.format == "DecimalSI"
    else:
        assert q.format == "DecimalExponent"


@given(quantities)
def test_parse_of_str_round_trips(q: Quantity) -> None:
    assert Quantity(str(q)) == q


@given(quantities)
def test_str_is_stable(q: Quantity) -> None:
    s = str(q)
    assert str(Quantity(s)) == s


@given(quantities)
def test_canonical_form(q: Quantity) -> None:
    s = str(q)
    m = re.fullmatch(r"(-?)([0-9]+)(|[numkMGTPE]|[KMGTPE]i|e-?[0-9]+)", s)
    assert m is not None, s
    sign, mantissa, suffix = m.groups()
    assert (sign == "-") == (q.sign() < 0)
    assert mantissa == "0" or not mantissa.startswith("0")  # no padding
    if q.is_zero():
        assert s == "0"
    elif suffix in DECIMAL and suffix != "E" and q.format == "DecimalSI":
        # the largest suffix: a mantissa divisible by 1000 would fit the next one up
        assert int(mantissa) % 1000 != 0
    elif suffix in BINARY and suffix != "Ei":
        assert int(mantissa) % 1024 != 0


@given(quantities, quantities)
def test_addition_commutes(a: Quantity, b: Quantity) -> None:
    assert a + b == b + a


@given(quantities, quantities, quantities)
def test_addition_associates(a: Quantity, b: Quantity, c: Quantity) -> None:
    assert (a + b) + c == a + (b + c)


@given(quantities, quantities)
def test_add_then_subtract_is_identity(a: Quantity, b: Quantity) -> None:
    assert a + b - b == a
    assert (a - b).as_fraction() == a.as_fraction() - b.as_fraction()
    negated = -a
    assert -negated == a
    assert a + (-a) == Quantity(0)


@given(quantities, quantities)
def test_ordering_matches_fractions(a: Quantity, b: Quantity) -> None:
    fa, fb = a.as_fraction(), b.as_fraction()
    assert (a < b) == (fa < fb)
    assert (a <= b) == (fa <= fb)
    assert (a == b) == (fa == fb)
    assert (a > b) == (fa > fb)
    assert (a >= b) == (fa >= fb)
    if a == b:
        assert hash(a) == hash(b)


@given(quantities)
def test_value_rounds_away_from_zero(q: Quantity) -> None:
    exact = q.as_fraction()
    away = math.ceil(abs(exact)) * q.sign()
    assert q.value() == away
    assert q.milli_value() == math.ceil(abs(exact) * 1000) * q.sign()


@given(quantities, st.integers(min_value=0, max_value=25))
def test_scaling_is_repeated_addition(q: Quantity, n: int) -> None:
    total = Quantity(0)
    for _ in range(n):
        total = total + q
    assert q * n == total
    assert n * q == total


# ---------------------------------------------------------------------------------------------

RESOURCES = ["cpu", "memory", "pods", "nvidia.com/gpu"]
small_quantities = st.builds(
    Quantity.from_nanos, st.integers(-(10**15), 10**15), formats
) | quantity_texts().map(Quantity)
resource_lists = st.dictionaries(st.sampled_from(RESOURCES), small_quantities).map(ResourceList)
non_negative_lists = resource_lists.map(ResourceList.clamp_min_zero)


def zeros_like(r: ResourceList) -> ResourceList:
    return r.scale(0)


@given(resource_lists, resource_lists)
def test_resource_addition_commutes(a: ResourceList, b: ResourceList) -> None:
    assert a + b == b + a


@given(resource_lists, resource_lists, resource_lists)
def test_resource_addition_associates(a: ResourceList, b: ResourceList, c: ResourceList) -> None:
    assert (a + b) + c == a + (b + c)


@given(resource_lists, resource_lists)
def test_resource_add_then_subtract(a: ResourceList, b: ResourceList) -> None:
    # Keys only in b stay, with zero quantities: equal to a padded with b's keys.
    assert (a + b) - b == a + zeros_like(b)
    assert set(a + b) == set(a) | set(b)
    for name in set(a) | set(b):
        zero = Quantity(0)
        assert (a - b)[name] == a.get(name, zero) - b.get(name, zero)


@given(resource_lists, st.integers(min_value=0, max_value=12))
def test_resource_scale_is_repeated_addition(r: ResourceList, n: int) -> None:
    total = zeros_like(r)
    for _ in range(n):
        total = total + r
    assert r.scale(n) == total


@given(resource_lists, resource_lists)
def test_fits_in_iff_no_shortfall(req: ResourceList, cap: ResourceList) -> None:
    short = req.shortfall(cap)
    assert req.fits_in(cap) == (len(short) == 0)
    assert all(q.sign() > 0 for q in short.values())
    assert (req - short).fits_in(cap)


@given(resource_lists, resource_lists, non_negative_lists)
def test_fits_in_is_monotonic_in_capacity(req: ResourceList, cap: ResourceList, extra: ResourceList) -> None:
    if req.fits_in(cap):
        assert req.fits_in(cap + extra)
        assert (req - extra).fits_in(cap)


@given(non_negative_lists, resource_lists)
def test_anything_fits_in_what_it_asks_for_plus_more(req: ResourceList, extra: ResourceList) -> None:
    assert req.fits_in(req)
    assert req.fits_in(req + extra.clamp_min_zero())


@given(resource_lists)
def test_resource_list_round_trips_through_strings(r: ResourceList) -> None:
    again = ResourceList(r.to_dict())
    assert again == r
    assert again.to_dict() == r.to_dict()
    assert list(r) == sorted(r)
