"""Helpers of the tmc_kcp integration tests: install a CRD and wait until the server serves it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

__all__ = ["establish"]


def establish(api: Any, crd: dict[str, Any]) -> None:
    """Create ``crd`` (or accept that it exists) and wait until it is Established and structural."""
    ext = client.ApiextensionsV1Api(api)
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as err:
        if err.status != 409:
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = ext.read_custom_resource_definition(crd["metadata"]["name"])
        conditions = {c.type: c.status for c in (got.status.conditions or [])}
        if conditions.get("Established") == "True":
            if conditions.get("NonStructuralSchema") == "True":
                pytest.fail(f"{crd['metadata']['name']}: the server says the schema is not structural")
            return
        time.sleep(0.2)
    pytest.fail(f"{crd['metadata']['name']} not established within 30 s")
