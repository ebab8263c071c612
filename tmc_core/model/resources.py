"""Immutable resource -> quantity maps ({"cpu": 500m, "memory": 1Gi}) for exact capacity arithmetic.

Requests, allocatable, allocated and free capacity are all ``ResourceList`` values; a resource that
a list does not name counts as zero in arithmetic and in capacity checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from tmc_core.errors import InvalidInput, QuantityError
from tmc_core.model.quantity import Quantity, QuantityLike

__all__ = ["ResourceList"]

_ZERO = Quantity(0)


class ResourceList(Mapping[str, Quantity]):
    """An immutable, hashable mapping of resource name (``"cpu"``, ``"memory"``, ...) to Quantity.

    Keys iterate in sorted order. Two lists are equal when they have the same keys with equal
    quantities (so ``{"cpu": "0"}`` differs from ``{}``). ``+`` and ``-`` work per resource over the
    union of keys, a missing resource counting as zero.
    """

    __slots__ = ("_hash", "_items", "_key", "_map")

    _items: tuple[tuple[str, Quantity], ...]
    _map: dict[str, Quantity]
    _key: tuple[tuple[str, int], ...]
    """(name, nano-units) pairs: equality and hashing on plain tuples, in C (a batch's survey looks
    up every workload's list by value; comparing Quantity objects in Python cost 0.26 µs a lookup)."""
    _hash: int | None

    def __init__(self, resources: Mapping[str, QuantityLike] | None = None) -> None:
        """Build from a mapping of resource name to quantity-like (str, int, float or Quantity).

        Raises ``QuantityError`` naming the resource (``memory: invalid quantity "2GB": ...``) for a
        bad quantity, and ``InvalidInput`` for a resource name that is not a non-empty string.
        """
        if isinstance(resources, ResourceList):
            items = resources._items
        else:
            if resources is None:
                resources = {}
            if not isinstance(resources, Mapping):
                kind = type(resources).__name__
                raise InvalidInput(f"expected a mapping of resource name to quantity, not {kind}")
            parsed: dict[str, Quantity] = {}
            for name, value in resources.items():
                if not isinstance(name, str) or not name:
                    raise InvalidInput(f"resource name must be a non-empty string, not {name!r}")
                try:
                    parsed[name] = Quantity.parse(value)
                except QuantityError as err:
                    raise err.within(path=name) from None
            items = tuple(sorted(parsed.items()))
        self._set(items)

    def _set(self, items: tuple[tuple[str, Quantity], ...]) -> None:
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_map", dict(items))
        object.__setattr__(self, "_key", tuple((name, q.nano_value()) for name, q in items))
        object.__setattr__(self, "_hash", None)

    @classmethod
    def _from_dict(cls, parsed: dict[str, Quantity]) -> ResourceList:
        rl = object.__new__(cls)
        rl._set(tuple(sorted(parsed.items())))
        return rl

    @classmethod
    def empty(cls) -> ResourceList:
        """The list with no resources."""
        return _EMPTY

    # -- Mapping -------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Quantity:
        return self._map[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._map

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResourceList):
            return self._key == other._key
        if isinstance(other, Mapping):
            return self._map == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(self._key))
        assert self._hash is not None
        return self._hash

    # -- arithmetic ----------------------------------------------------------------------------

    def __add__(self, other: object) -> ResourceList:
        if not isinstance(other, ResourceList):
            return NotImplemented
        out = dict(self._map)
        for name, q in other._items:
            out[name] = out.get(name, _ZERO) + q
        return ResourceList._from_dict(out)

    def __sub__(self, other: object) -> ResourceList:
        if not isinstance(other, ResourceList):
            return NotImplemented
        out = dict(self._map)
        for name, q in other._items:
            out[name] = out.get(name, _ZERO) - q
        return ResourceList._from_dict(out)

    def __neg__(self) -> ResourceList:
        return ResourceList._from_dict({name: -q for name, q in self._items})

    def scale(self, n: int) -> ResourceList:
        """Every quantity multiplied by ``n`` (a replica count): the request of ``n`` replicas."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"scale factor must be an int, not {type(n).__name__}")
        return ResourceList._from_dict({name: q * n for name, q in self._items})

    def fits_in(self, capacity: ResourceList) -> bool:
        """Whether every resource requested here is at most ``capacity``'s amount of it.

        A resource that ``capacity`` does not name counts as zero capacity; a zero (or negative)
        request always fits.
        """
        have = capacity._map
        return all(req.sign() <= 0 or req <= have.get(name, _ZERO) for name, req in self._items)

    def shortfall(self, capacity: ResourceList) -> ResourceList:
        """How much more of each resource would be needed to fit: ``self - capacity`` for the
        resources requested here that exceed ``capacity`` (empty exactly when ``fits_in``)."""
        out: dict[str, Quantity] = {}
        for name, req in self._items:
            have = capacity._map.get(name, _ZERO)
            if req.sign() > 0 and req > have:
                out[name] = req - have
        return ResourceList._from_dict(out)

    def clamp_min_zero(self) -> ResourceList:
        """The same resources with negative quantities replaced by zero (keeping their format)."""
        if all(q.sign() >= 0 for _, q in self._items):
            return self
        return ResourceList._from_dict({name: (q if q.sign() >= 0 else q * 0) for name, q in self._items})

    def is_zero(self) -> bool:
        """Whether every quantity is zero (true for the empty list)."""
        return all(q.is_zero() for _, q in self._items)

    # -- text ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, str]:
        """Resource name -> canonical quantity string, in sorted key order."""
        return {name: str(q) for name, q in self._items}

    def __repr__(self) -> str:
        return f"ResourceList({self.to_dict()!r})"

    # -- immutability, copying, pickling -------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ResourceList is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ResourceList is immutable (cannot delete {name!r})")

    def __copy__(self) -> ResourceList:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> ResourceList:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (ResourceList, (self._map,))

    # -- pydantic ------------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Validate a mapping of name -> quantity-like; serialise to a dict of canonical strings."""
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                ResourceList.to_dict,
                return_schema=core_schema.dict_schema(core_schema.str_schema(), core_schema.str_schema()),
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """An object of resource name to Kubernetes quantity."""
        return {
            "type": "object",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "description": "resource name -> Kubernetes quantity, e.g. {cpu: 500m, memory: 1Gi}",
        }


_EMPTY = ResourceList()


def _validate(value: Any) -> ResourceList:
    """Pydantic validator: the InvalidInput text becomes the validation error's message."""
    if isinstance(value, ResourceList):
        return value
    try:
        return ResourceList(value)
    except InvalidInput as err:
        raise PydanticCustomError("invalid_resources", "{problem}", {"problem": str(err)}) from None
