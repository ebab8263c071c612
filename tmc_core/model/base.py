"""The base of every tmc value: frozen pydantic models with Kubernetes' camelCase field names."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = ["Value", "field_error"]


class Value(BaseModel):
    """An immutable value: snake_case in Python, camelCase in manifests, unknown fields rejected."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        validate_default=False,
        ser_json_inf_nan="strings",
    )

    @classmethod
    def trusted(cls, **fields: Any) -> Self:
        """Build a value from fields that are already valid and complete, skipping validation.

        For the engine's hot paths only (a decision built from its own arrays); every field must be
        given. Twice as fast as ``model_construct``, which also fills defaults.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj

    def dump(self) -> dict[str, Any]:
        """The manifest form: camelCase keys, defaults left out, quantities as canonical strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def field_error(field: str, problem: str) -> PydanticCustomError:
    """An error raised inside a model validator that still points at one field of that model.

    The path converter (``tmc_core.model.validation``) appends ``field`` to the error's location, so
    "minGroups 3 > maxGroups 2" is reported at ``spreadConstraints[0].maxGroups`` and not at the list item.
    """
    return PydanticCustomError("tmc_field", "{problem}", {"field": field, "problem": problem})
