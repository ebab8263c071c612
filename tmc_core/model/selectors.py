"""Label and field selectors over clusters, with Kubernetes' and Karmada's matching rules.

These are the readable reference semantics; the placement index evaluates the same rules as vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from tmc_core.model.base import Value, field_error

__all__ = [
    "FieldSelector",
    "FieldSelectorRequirement",
    "LabelOperator",
    "LabelSelector",
    "LabelSelectorRequirement",
    "match_requirement",
]

LabelOperator = Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]


def _as_int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def match_requirement(value: str | None, operator: str, values: tuple[str, ...]) -> bool:
    """Whether a label value (``None`` = label absent) satisfies one requirement.

    Kubernetes semantics: ``NotIn`` and ``DoesNotExist`` hold for an absent label; ``Gt``/``Lt`` compare
    integers and fail when the label is absent or not an integer.
    """
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        have = _as_int(value) if value is not None else None
        bound = _as_int(values[0]) if values else None
        if have is None or bound is None:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


class LabelSelectorRequirement(Value):
    """One ``matchExpressions`` entry: key, operator, values."""

    key: str = Field(min_length=1)
    operator: LabelOperator
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise field_error("values", f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise field_error("values", f"operator {self.operator} takes no values")
        one_integer = len(self.values) == 1 and _as_int(self.values[0]) is not None
        if self.operator in ("Gt", "Lt") and not one_integer:
            raise field_error("values", f"operator {self.operator} needs exactly one integer value")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        return match_requirement(labels.get(self.key), self.operator, self.values)


class LabelSelector(Value):
    """A Kubernetes label selector; empty selects everything."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """All ``matchLabels`` equal and all ``matchExpressions`` hold."""
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )


class FieldSelectorRequirement(Value):
    """A Karmada field-selector requirement over a cluster's provider, region or zone."""

    key: Literal["provider", "region", "zone"]
    operator: Literal["In", "NotIn"]
    values: tuple[str, ...] = Field(min_length=1)


class FieldSelector(Value):
    """Karmada's ``fieldSelector``: requirements ANDed; an absent field is like an absent label."""

    match_expressions: tuple[FieldSelectorRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        """``fields`` maps provider/region/zone to values; empty strings count as absent."""
        return all(
            match_requirement(fields.get(r.key) or None, r.operator, r.values) for r in self.match_expressions
        )
