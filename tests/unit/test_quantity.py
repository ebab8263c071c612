"""Quantity: parsing, canonical strings and arithmetic, checked against Kubernetes' test tables."""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction

import pytest
from pydantic import BaseModel, ValidationError

from tmc_core.errors import InvalidInput, QuantityError
from tmc_core.model.quantity import Quantity, QuantityFormat, parse_quantity

DSI, BSI, DEX = "DecimalSI", "BinarySI", "DecimalExponent"

# (input, canonical String(), remembered format): cases from k8s.io/apimachinery's
# quantity_test.go (TestQuantityParse, TestQuantityString, TestQuantityParseEmit) and its docs.
CANONICAL = [
    ("0", "0", DSI),
    ("0n", "0", DSI),
    ("0m", "0", DSI),
    ("0Ki", "0", BSI),
    ("0Gi", "0", BSI),
    ("0T", "0", DSI),
    ("-0", "0", DSI),
    ("1", "1", DSI),
    ("1.5", "1500m", DSI),
    ("0.1", "100m", DSI),
    ("1000m", "1", DSI),
    ("1000", "1k", DSI),
    ("100", "100", DSI),
    ("50k", "50k", DSI),
    ("1000M", "1G", DSI),
    ("1234567M", "1234567M", DSI),
    ("5n", "5n", DSI),
    ("4u", "4u", DSI),
    ("3m", "3m", DSI),
    ("1080m", "1080m", DSI),
    ("1.08", "1080m", DSI),
    ("1080000000n", "1080m", DSI),
    ("1000u", "1m", DSI),
    ("0.001T", "1G", DSI),
    ("40T", "40T", DSI),
    ("300.2T", "300200G", DSI),
    ("2.5P", "2500T", DSI),
    ("1E", "1E", DSI),
    ("12E", "12E", DSI),
    ("1.01E", "1010P", DSI),
    ("1000E", "1e21", DSI),  # DecimalSI has no suffix beyond E: falls back to an exponent
    ("5000E", "5e21", DSI),
    ("100.035k", "100035", DSI),
    ("10.035M", "10035k", DSI),
    ("7.123456M", "7123456", DSI),
    ("6.987654321G", "6987654321", DSI),
    ("9.01", "9010m", DSI),
    ("8.1k", "8100", DSI),
    ("0.0005k", "500m", DSI),
    ("0.00050k", "500m", DSI),
    (".001", "1m", DSI),
    (".0001k", "100m", DSI),
    ("1.", "1", DSI),
    ("1.G", "1G", DSI),
    ("+1", "1", DSI),
    ("0001", "1", DSI),
    # binary: the largest power of 1024 that keeps a whole mantissa
    ("1Ki", "1Ki", BSI),
    ("1Mi", "1Mi", BSI),
    ("1024Mi", "1Gi", BSI),
    ("2048Ki", "2Mi", BSI),
    ("1536Mi", "1536Mi", BSI),
    ("1.5Gi", "1536Mi", BSI),
    ("0.5Gi", "512Mi", BSI),
    ("0.5Mi", "512Ki", BSI),
    ("300Mi", "300Mi", BSI),
    ("307200Ki", "300Mi", BSI),
    ("1001Gi", "1001Gi", BSI),
    ("1025024Mi", "1001Gi", BSI),
    ("1024Gi", "1Ti", BSI),
    ("3Ei", "3Ei", BSI),
    ("9Ei", "9Ei", BSI),
    ("1024Ei", "1024Ei", BSI),  # no suffix beyond Ei
    # binary values below 1024, or not whole, are written in decimal
    ("1.5Ki", "1536", BSI),
    ("1025", "1025", DSI),
    ("1.0009765625Ki", "1025", BSI),
    # Kubernetes prints this as the bare integer "5000", which it re-canonicalises to "5k" once
    # parsed back; tmc writes "5k" straight away so that every emitted string is a fixed point.
    ("4.8828125Ki", "5k", BSI),
    ("-4.8828125Ki", "-5k", BSI),
    ("0.5Ki", "512", BSI),
    ("100.035Ki", "102435840m", BSI),
    (".001Ki", "1024m", BSI),
    (".000001Ki", "1024u", DSI),  # below one unit: DecimalSI
    (".000000001Ki", "1024n", DSI),
    # decimal exponents
    ("1e3", "1e3", DEX),
    ("1E3", "1e3", DEX),
    ("1E6", "1e6", DEX),
    ("1e9", "1e9", DEX),
    ("1E-3", "1e-3", DEX),
    ("1e-9", "1e-9", DEX),
    ("80e-3", "80e-3", DEX),
    ("300e6", "300e6", DEX),
    (".001e12", "1e9", DEX),
    ("0.001e0", "1e-3", DEX),
    ("1000e-12", "1e-9", DEX),
    ("1e2", "100", DEX),
    ("1e14", "100e12", DEX),
    ("1.2e3", "1200", DEX),
    ("1.3E+6", "1300e3", DEX),
    ("1.53E12", "1530e9", DEX),
    ("0.5e0", "500e-3", DEX),
    ("1e03", "1e3", DEX),
    # values are kept down to 1n, finer ones rounded away from zero
    ("0.1n", "1n", DSI),
    ("0.9n", "1n", DSI),
    ("3.001n", "4n", DSI),
    ("0.0000000001", "1n", DSI),
    ("0.00000000050", "1n", DSI),
    ("0.00000012345", "124n", DSI),
    ("0.00000012354", "124n", DSI),
    ("1.1E-9", "2e-9", DEX),
    ("0.5e-9", "1e-9", DEX),
    ("1e-5000", "1e-9", DEX),
    ("0e99999999", "0", DEX),
    ("0.000000000001Ki", "2n", DSI),  # rounds up and, below one unit, becomes DecimalSI
    # negative values
    ("-1.5", "-1500m", DSI),
    ("-1Gi", "-1Gi", BSI),
    ("-1.5Gi", "-1536Mi", BSI),
    ("-1e3", "-1e3", DEX),
    ("-0.1n", "-1n", DSI),
    ("-.000000000001Ki", "-2n", DSI),
]


@pytest.mark.parametrize(("text", "canonical", "fmt"), CANONICAL)
def test_canonical_string_and_format(text: str, canonical: str, fmt: str) -> None:
    q = Quantity(text)
    assert str(q) == canonical
    assert q.format == fmt


@pytest.mark.parametrize(("text", "canonical", "fmt"), CANONICAL)
def test_canonical_string_is_a_fixed_point(text: str, canonical: str, fmt: str) -> None:
    again = Quantity(canonical)
    assert again == Quantity(text)
    assert str(again) == canonical


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2Gi", 2 * 2**30),
        ("1.5Gi", 3 * 2**29),
        ("100.035Ki", Fraction(10243584, 100)),
        ("1e3", 1000),
        ("1.3E+6", 1_300_000),
        ("-2.5k", -2500),
        ("0.1n", Fraction(1, 10**9)),
        ("18446744073709551616", 2**64),  # decimal quantities are not capped at int64
        ("9223372036854775807Ki", (2**63 - 1) * 1024),  # nor, here, binary ones (see README)
    ],
)
def test_exact_value(text: str, value: Fraction | int) -> None:
    assert Quantity(text).as_fraction() == value


INVALID = [
    "",
    " ",
    "1.5.0",
    "1.1.M",
    "1+1.0M",
    "5KB",
    "1 Gi",
    " 1",
    "1 ",
    "12 cores",
    "m",
    "Gi",
    ".",
    "+",
    "-",
    "-.",
    "++1",
    "+-1",
    "1e",
    "1e+",
    "-3.01e-",
    "1e1.5",
    "1ee3",
    "0x10",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "1K",
    "1kb",
    "1gi",
    "1Mi2",
    "1,5",
    "1_000",
    "inf",
    "NaN",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: only ASCII digits are digits
    "1\n",
]


@pytest.mark.parametrize("text", INVALID)
def test_rejects_malformed_text_quoting_it(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        Quantity(text)
    message = str(info.value)
    assert message.startswith("invalid quantity ")
    assert "\n" not in message
    quoted = '"' + text.replace("\n", "\\n") + '"'
    assert quoted in message


def test_error_messages() -> None:
    with pytest.raises(QuantityError, match=r'^invalid quantity "12 cores": expected a number'):
        Quantity("12 cores")
    with pytest.raises(QuantityError, match=r'^invalid quantity "5KB": unknown suffix "KB"'):
        Quantity("5KB")
    with pytest.raises(QuantityError, match="more than 1000 digits"):
        Quantity("1e999999999")
    with pytest.raises(QuantityError, match="significant digits"):
        Quantity("1" * 5000)


def test_error_is_invalid_input_and_value_error() -> None:
    with pytest.raises(InvalidInput):
        Quantity("x")
    with pytest.raises(ValueError):
        parse_quantity("x")


def test_long_bad_text_is_shortened_in_message() -> None:
    with pytest.raises(QuantityError) as info:
        Quantity("9" * 300 + "Q")
    assert len(str(info.value)) < 250


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (0, "0"),
        (1, "1"),
        (1000, "1k"),
        (-64, "-64"),
        (1.5, "1500m"),
        (0.1, "100m"),
        (2.0, "2"),
        (-0.0, "0"),
        (1e-3, "1m"),
        (1e16, "10e15"),  # repr(1e16) == "1e+16", a decimal exponent
    ],
)
def test_parse_numbers(value: int | float, canonical: str) -> None:
    assert str(Quantity.parse(value)) == canonical
    assert str(Quantity(value)) == canonical


@pytest.mark.parametrize("value", [True, False, None, [1], {"cpu": 1}, float("nan"), float("inf")])
def test_parse_rejects_other_types(value: object) -> None:
    with pytest.raises(QuantityError, match=r"^invalid quantity "):
        Quantity.parse(value)  # type: ignore[arg-type]


def test_parse_returns_quantities_unchanged() -> None:
    q = Quantity("1.5Gi")
    assert Quantity.parse(q) is q
    assert parse_quantity(q) is q
    copied = Quantity(q)
    assert copied == q
    assert copied.format == q.format


def test_equality_and_hash_ignore_format() -> None:
    assert Quantity("1") == Quantity("1000m")
    assert hash(Quantity("1")) == hash(Quantity("1000m"))
    assert Quantity("1Ki") == Quantity("1024") == Quantity("1.024e3")
    assert len({Quantity("1"), Quantity("1000m"), Quantity("1e0"), Quantity("2")}) == 2
    assert Quantity("1") != Quantity("1001m")
    assert Quantity("1") != 1  # no implicit parsing in comparisons
    assert Quantity("1") != "1"


def test_ordering() -> None:
    assert Quantity("999m") < Quantity("1")
    assert Quantity("1Gi") > Quantity("1G")
    assert Quantity("10000T") > Quantity("100Gi")
    assert Quantity("-1") < Quantity("0") <= Quantity("0n")
    assert Quantity("1n") >= Quantity("0.1n")
    assert sorted(Quantity(t) for t in ["1Gi", "500m", "-2", "1e3"]) == [
        Quantity("-2"),
        Quantity("500m"),
        Quantity("1e3"),
        Quantity("1Gi"),
    ]
    with pytest.raises(TypeError):
        _ = Quantity("1") < 2


def test_arithmetic_is_exact() -> None:
    assert Quantity("0.1") + Quantity("0.2") == Quantity("300m")
    assert str(Quantity("0.1") + Quantity("0.2")) == "300m"
    assert 3 * Quantity("333m") == Quantity("999m")
    assert str(Quantity("333m") * 3) == "999m"
    assert Quantity("1") - Quantity("1n") == Quantity("999999999n")
    assert str(Quantity("1Gi") - Quantity("512Mi")) == "512Mi"
    assert str(-Quantity("1.5")) == "-1500m"
    assert str(Quantity("1Gi") * 0) == "0"
    assert Quantity("1Gi") * -2 == Quantity("-2Gi")
    total = Quantity(0)
    for _ in range(10):
        total = total + Quantity("0.1")
    assert total == Quantity("1")


def test_arithmetic_format_follows_kubernetes() -> None:
    # The left operand's format is kept ...
    assert (Quantity("1Gi") + Quantity("1G")).format == BSI
    assert (Quantity("1G") + Quantity("1Gi")).format == DSI
    assert str(Quantity("1k") + Quantity("24")) == "1024"
    # ... except that a zero takes the other operand's (Kubernetes' Add/Sub on a zero receiver).
    assert str(Quantity("0") + Quantity("1Gi")) == "1Gi"
    assert str(Quantity("1Gi") + Quantity("0")) == "1Gi"
    assert str(Quantity("0") - Quantity("1Gi")) == "-1Gi"
    assert str(Quantity("100m") - Quantity("0")) == "100m"
    # Binary quantities that stop being whole bytes are written in decimal.
    assert str(Quantity("1Gi") + Quantity("500m")) == "1073741824500m"


def test_scaling_rejects_non_integers() -> None:
    q = Quantity("1")
    for bad in (1.5, True, Quantity("2"), "2"):
        with pytest.raises(TypeError):
            _ = q * bad
        with pytest.raises(TypeError):
            _ = bad * q


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("0", 0, 0),
        ("1", 1, 1000),
        ("1.5", 2, 1500),
        ("1001m", 2, 1001),
        ("1n", 1, 1),
        ("1.0001m", 1, 2),
        ("1Ki", 1024, 1024000),
        ("-1.5", -2, -1500),  # rounded away from zero, like Kubernetes' int64 path
        ("-1n", -1, -1),
        ("18446744073709551616", 2**64, 2**64 * 1000),
    ],
)
def test_value_and_milli_value_round_away_from_zero(text: str, value: int, milli: int) -> None:
    q = Quantity(text)
    assert q.value() == value
    assert q.milli_value() == milli


def test_sign_zero_nano_value() -> None:
    assert Quantity("-3m").sign() == -1
    assert Quantity("0Gi").sign() == 0
    assert Quantity("1n").sign() == 1
    assert Quantity("0Gi").is_zero()
    assert not Quantity("1n").is_zero()
    assert not Quantity("0")
    assert Quantity("1n")
    assert Quantity("1.5").nano_value() == 1_500_000_000
    assert Quantity.from_nanos(1_500_000_000) == Quantity("1.5")
    assert str(Quantity.from_nanos(2**31 * 10**9, QuantityFormat.BINARY_SI)) == "2Gi"
    assert str(Quantity.from_nanos(2**31 * 10**9, "DecimalExponent")) == "2147483648"
    with pytest.raises(ValueError):
        Quantity.from_nanos(1, "Hex")
    with pytest.raises(TypeError):
        Quantity.from_nanos(1.0)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(Quantity("500m")) == "Quantity('500m')"
    assert repr(Quantity("1.5Gi")) == "Quantity('1536Mi')"


def test_immutable() -> None:
    q = Quantity("1")
    with pytest.raises(AttributeError):
        q._nanos = 5
    with pytest.raises(AttributeError):
        q.anything = 5
    with pytest.raises(AttributeError):
        del q._nanos
    assert q == Quantity("1")


def test_copy_and_pickle_keep_value_and_format() -> None:
    q = Quantity("1.5Gi")
    for other in (copy.copy(q), copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
        assert other == q
        assert other.format == BSI
        assert str(other) == "1536Mi"


class _Pod(BaseModel):
    cpu: Quantity
    memory: Quantity | None = None


def test_pydantic_accepts_strings_numbers_and_quantities() -> None:
    pod = _Pod(cpu=1.5, memory="1.5Gi")
    assert pod.cpu == Quantity("1500m")
    assert pod.memory == Quantity("1536Mi")
    assert _Pod(cpu=2).cpu == Quantity("2")
    q = Quantity("3")
    assert _Pod(cpu=q).cpu is q
    assert _Pod.model_validate_json('{"cpu": 0.25, "memory": "64Mi"}').cpu == Quantity("250m")


def test_pydantic_dumps_canonical_strings() -> None:
    pod = _Pod(cpu="1.5", memory="2048Ki")
    assert pod.model_dump() == {"cpu": "1500m", "memory": "2Mi"}
    assert pod.model_dump(mode="json") == {"cpu": "1500m", "memory": "2Mi"}
    assert pod.model_dump_json() == '{"cpu":"1500m","memory":"2Mi"}'
    assert _Pod.model_validate_json(pod.model_dump_json()) == pod


@pytest.mark.parametrize("bad", ["2GB", "1 Gi", True, None, [1]])
def test_pydantic_error_message_is_the_quantity_error(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        _Pod(cpu=bad)
    errors = info.value.errors(include_url=False)
    assert len(errors) == 1
    assert errors[0]["loc"] == ("cpu",)
    with pytest.raises(QuantityError) as direct:
        Quantity.parse(bad)  # type: ignore[arg-type]
    assert errors[0]["msg"] == str(direct.value)


def test_pydantic_json_schema() -> None:
    schema = _Pod.model_json_schema()
    assert {"type": "string"} in schema["properties"]["cpu"]["anyOf"]
