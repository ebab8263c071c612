"""ResourceList: construction, per-resource arithmetic, capacity checks and pydantic integration."""

from __future__ import annotations

import copy
import pickle

import pytest
from pydantic import BaseModel, ValidationError

from tmc_core.errors import InvalidInput, QuantityError
from tmc_core.model.quantity import Quantity
from tmc_core.model.resources import ResourceList


def rl(**resources: str | int | float) -> ResourceList:
    return ResourceList(resources)


def test_construction_parses_and_sorts_keys() -> None:
    r = ResourceList({"memory": "1Gi", "cpu": "500m", "pods": 10, "nvidia.com/gpu": 1.0})
    assert list(r) == ["cpu", "memory", "nvidia.com/gpu", "pods"]
    assert r["cpu"] == Quantity("0.5")
    assert r["memory"] == Quantity("1073741824")
    assert r["pods"] == Quantity("10")
    assert r["nvidia.com/gpu"] == Quantity("1")
    assert len(r) == 4
    assert "cpu" in r
    assert "disk" not in r
    assert r.get("disk") is None
    with pytest.raises(KeyError):
        _ = r["disk"]


def test_empty() -> None:
    assert len(ResourceList.empty()) == 0
    assert ResourceList.empty() == ResourceList() == ResourceList({}) == ResourceList(None)
    assert ResourceList.empty().is_zero()


def test_bad_quantity_names_the_resource() -> None:
    with pytest.raises(QuantityError) as info:
        ResourceList({"cpu": "1", "memory": "2GB"})
    assert str(info.value).startswith('memory: invalid quantity "2GB": ')
    assert info.value.path == "memory"


@pytest.mark.parametrize("bad", [{"": "1"}, {1: "1"}, ["cpu"], "cpu=1"])
def test_bad_shape_is_invalid_input(bad: object) -> None:
    with pytest.raises(InvalidInput):
        ResourceList(bad)  # type: ignore[arg-type]


def test_equality_is_by_content_and_keys() -> None:
    assert rl(cpu="1", memory="1Gi") == rl(memory="1024Mi", cpu="1000m")
    assert hash(rl(cpu="1", memory="1Gi")) == hash(rl(memory="1024Mi", cpu="1000m"))
    assert rl(cpu="1") != rl(cpu="2")
    assert rl(cpu="0") != ResourceList.empty()  # a zero entry is still an entry
    assert rl(cpu="1") != rl(cpu="1", memory="0")
    assert rl(cpu="1") == {"cpu": Quantity("1")}
    assert rl(cpu="1") != {"cpu": "1"}  # values are compared as quantities, not parsed
    assert len({rl(cpu="1"), rl(cpu="1000m"), rl(cpu="2")}) == 2


def test_add_and_sub_over_the_union_of_keys() -> None:
    a = rl(cpu="500m", memory="1Gi")
    b = rl(cpu="1.5", pods="3")
    assert a + b == rl(cpu="2", memory="1Gi", pods="3")
    assert a - b == rl(cpu="-1", memory="1Gi", pods="-3")
    assert b - a == rl(cpu="1", memory="-1Gi", pods="3")
    assert (a + b).to_dict() == {"cpu": "2", "memory": "1Gi", "pods": "3"}
    assert (a - b).to_dict() == {"cpu": "-1", "memory": "1Gi", "pods": "-3"}
    assert a + ResourceList.empty() == a
    with pytest.raises(TypeError):
        _ = a + {"cpu": "1"}


def test_missing_resource_takes_the_other_side_format() -> None:
    assert (ResourceList.empty() + rl(memory="1Gi")).to_dict() == {"memory": "1Gi"}
    assert (ResourceList.empty() - rl(memory="1Gi")).to_dict() == {"memory": "-1Gi"}


def test_scale() -> None:
    req = rl(cpu="333m", memory="1.5Gi")
    assert req.scale(3) == rl(cpu="999m", memory="4.5Gi")
    assert req.scale(3).to_dict() == {"cpu": "999m", "memory": "4608Mi"}
    assert req.scale(0) == rl(cpu="0", memory="0")
    assert req.scale(1) == req
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError):
            req.scale(bad)  # type: ignore[arg-type]


def test_fits_in() -> None:
    capacity = rl(cpu="4", memory="8Gi")
    assert rl(cpu="4", memory="8Gi").fits_in(capacity)
    assert rl(cpu="3999m").fits_in(capacity)
    assert not rl(cpu="4001m").fits_in(capacity)
    assert not rl(cpu="1", memory="9Gi").fits_in(capacity)
    assert not rl(cpu="1", pods="1").fits_in(capacity)  # a missing resource has no capacity
    assert rl(cpu="1", pods="0").fits_in(capacity)  # a zero request always fits
    assert rl(pods="0").fits_in(ResourceList.empty())
    assert rl(cpu="1").fits_in(rl(cpu="1", memory="-1"))  # only requested resources matter
    assert ResourceList.empty().fits_in(ResourceList.empty())


def test_shortfall() -> None:
    capacity = rl(cpu="4", memory="8Gi")
    need = rl(cpu="5500m", memory="4Gi", pods="2", gpu="0")
    assert need.shortfall(capacity) == rl(cpu="1.5", pods="2")
    assert need.shortfall(capacity).to_dict() == {"cpu": "1500m", "pods": "2"}
    assert rl(cpu="1").shortfall(capacity) == ResourceList.empty()
    assert rl(cpu="1").shortfall(rl(cpu="-1")) == rl(cpu="2")


def test_clamp_min_zero_and_is_zero() -> None:
    free = rl(cpu="4") - rl(cpu="6", memory="-1Gi")
    assert free == rl(cpu="-2", memory="1Gi")
    clamped = free.clamp_min_zero()
    assert clamped == rl(cpu="0", memory="1Gi")
    assert clamped.clamp_min_zero() == clamped
    assert not clamped.is_zero()
    assert rl(cpu="0", memory="0Gi").is_zero()
    assert not rl(cpu="-1n").is_zero()


def test_repr_and_to_dict() -> None:
    r = rl(memory="2048Mi", cpu=0.5)
    assert r.to_dict() == {"cpu": "500m", "memory": "2Gi"}
    assert repr(r) == "ResourceList({'cpu': '500m', 'memory': '2Gi'})"


def test_immutable() -> None:
    r = rl(cpu="1")
    with pytest.raises(AttributeError):
        r._items = ()
    with pytest.raises(TypeError):
        r["cpu"] = Quantity("2")  # type: ignore[index]
    assert r == rl(cpu="1")


def test_copy_and_pickle() -> None:
    r = rl(cpu="1", memory="1.5Gi")
    for other in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert other == r
        assert other.to_dict() == {"cpu": "1", "memory": "1536Mi"}


class _Node(BaseModel):
    allocatable: ResourceList
    allocated: ResourceList = ResourceList.empty()


def test_pydantic_validates_and_dumps() -> None:
    node = _Node.model_validate({"allocatable": {"memory": "256Gi", "cpu": 64, "pods": "1100"}})
    assert node.allocatable == rl(cpu="64", memory="256Gi", pods="1.1k")
    assert node.allocated == ResourceList.empty()
    expected = {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1100"}, "allocated": {}}
    assert node.model_dump() == expected
    assert node.model_dump(mode="json") == expected
    assert _Node.model_validate_json(node.model_dump_json()) == node
    assert _Node(allocatable=node.allocatable).allocatable is node.allocatable


def test_pydantic_error_names_the_resource_key() -> None:
    with pytest.raises(ValidationError) as info:
        _Node.model_validate({"allocatable": {"cpu": "1", "memory": "2GB"}})
    errors = info.value.errors(include_url=False)
    assert len(errors) == 1
    assert errors[0]["loc"] == ("allocatable",)
    assert errors[0]["msg"].startswith('memory: invalid quantity "2GB": unknown suffix "GB"')


def test_pydantic_rejects_non_mappings() -> None:
    with pytest.raises(ValidationError, match="expected a mapping"):
        _Node.model_validate({"allocatable": ["cpu"]})
