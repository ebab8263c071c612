"""KubeClient: the client port over a real API server, sending what :mod:`tmc_kube.rest` builds
through a ``kubernetes.client.ApiClient`` (its TLS, auth and connection pool; not its models).

Thin on purpose: no retries here (callers use :mod:`tmc_kube.backoff`), every failure becomes a
typed error. Kinds are resolved to REST resources by discovery of their group/version, cached.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3

from tmc_kube.errors import KubeError, Unavailable, error_from_response
from tmc_kube.port import Manifest, ObjectList, ObjectRef, PropagationPolicy, WatchEvent
from tmc_kube.rest import (
    Request,
    Resource,
    apply_request,
    create_request,
    delete_request,
    discovery_path,
    get_request,
    list_request,
    resource_from_discovery,
    update_request,
    watch_request,
)

__all__ = ["KubeClient"]

_AUTH = ["BearerToken"]


class KubeClient:
    """The :class:`~tmc_kube.port.KubePort` over ``api_client`` (a configured ``ApiClient``)."""

    def __init__(self, api_client: Any, *, timeout: float = 30.0) -> None:
        self._api = api_client
        self.timeout = timeout
        self._resources: dict[tuple[str, str], Resource] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KubeClient({self._api.configuration.host})"

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, req: Request, *, timeout: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        body = req.body
        if body is not None:
            headers["Content-Type"] = req.content_type
        try:
            method, url, hdrs, _body, post = self._api.param_serialize(
                req.method, req.path, header_params=headers, auth_settings=_AUTH
            )
            return self._api.call_api(
                method,
                url,
                header_params=hdrs,
                body=body,
                post_params=post,
                _request_timeout=timeout if timeout is not None else self.timeout,
            )
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unavailable(f"{req.method} {req.path.split('?')[0]}: {type(err).__name__}: {err}") from None
        except Exception as err:  # the client's ApiException(status=0) for TLS failures
            if getattr(err, "status", None) == 0:
                raise Unavailable(f"{req.method} {req.path.split('?')[0]}: {err}".splitlines()[0]) from None
            raise

    @staticmethod
    def _raise_for(resp: Any) -> None:
        if resp.status >= 400:
            data = resp.read()
            raise error_from_response(
                resp.status, data, reason=str(resp.reason or ""), retry_after=resp.getheader("Retry-After")
            )

    def _send(self, req: Request) -> Any:
        resp = self._call(req)
        try:
            self._raise_for(resp)
            data = resp.read()
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unavailable(f"{req.method} {req.path.split('?')[0]}: {err}") from None
        return json.loads(data) if data else {}

    def resource(self, api_version: str, kind: str) -> Resource:
        """The REST resource of a kind, from discovery (cached per client)."""
        key = (api_version, kind)
        with self._lock:
            found = self._resources.get(key)
        if found is None:
            doc = self._send(Request("GET", discovery_path(api_version)))
            found = resource_from_discovery(api_version, kind, doc)
            with self._lock:
                self._resources[key] = found
        return found

    # -- the port ---------------------------------------------------------------------------------

    def get(self, ref: ObjectRef) -> Manifest:
        res = self.resource(ref.api_version, ref.kind)
        obj: Manifest = self._send(get_request(res, ref))
        return obj

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> ObjectList:
        res = self.resource(api_version, kind)
        doc = self._send(
            list_request(
                res, namespace=namespace, label_selector=label_selector, field_selector=field_selector
            )
        )
        items = []
        for item in doc.get("items") or []:
            # List items come without apiVersion/kind; put them back so each item stands alone.
            items.append({"apiVersion": api_version, "kind": kind, **item})
        return ObjectList(items, str((doc.get("metadata") or {}).get("resourceVersion") or ""))

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
    ) -> _HttpWatch:
        res = self.resource(api_version, kind)
        req = watch_request(
            res,
            namespace=namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
        )
        # Read timeout: the server ends the watch after timeout_seconds; allow slack beyond it.
        read = None if timeout_seconds is None else timeout_seconds + self.timeout
        resp = self._call(req, timeout=(self.timeout, read))
        self._raise_for(resp)
        return _HttpWatch(resp, req.path.split("?")[0])

    def create(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        res = self._resource_of(manifest)
        obj: Manifest = self._send(create_request(res, manifest, dry_run=dry_run))
        return obj

    def update(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        res = self._resource_of(manifest)
        obj: Manifest = self._send(update_request(res, manifest, dry_run=dry_run))
        return obj

    def update_status(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        res = self._resource_of(manifest)
        obj: Manifest = self._send(update_request(res, manifest, subresource="status", dry_run=dry_run))
        return obj

    def apply(
        self,
        manifest: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Manifest:
        res = self._resource_of(manifest)
        req = apply_request(
            res, manifest, field_manager=field_manager, force=force, subresource=subresource, dry_run=dry_run
        )
        obj: Manifest = self._send(req)
        return obj

    def delete(
        self,
        ref: ObjectRef,
        *,
        propagation_policy: PropagationPolicy = "Background",
        resource_version: str = "",
        uid: str = "",
        dry_run: bool = False,
    ) -> None:
        res = self.resource(ref.api_version, ref.kind)
        self._send(
            delete_request(
                res,
                ref,
                propagation_policy=propagation_policy,
                resource_version=resource_version,
                uid=uid,
                dry_run=dry_run,
            )
        )

    def readyz(self) -> tuple[bool, str]:
        """The server's readiness (``GET /readyz``): (ready, a one-line reason)."""
        try:
            resp = self._call(Request("GET", "/readyz"))
            text = resp.read().decode(errors="replace").strip()
        except (KubeError, urllib3.exceptions.HTTPError, OSError) as err:
            return False, str(err).splitlines()[0] if str(err) else type(err).__name__
        if resp.status == 200:
            return True, text or "ok"
        failed = [line for line in text.splitlines() if "failed" in line]
        return False, f"readyz {resp.status}: {(failed or [text or 'not ready'])[0]}"

    def _resource_of(self, manifest: Mapping[str, Any]) -> Resource:
        ref = ObjectRef.of(manifest)
        return self.resource(ref.api_version, ref.kind)


class _HttpWatch:
    """A watch over an HTTP response: JSON lines -> :class:`WatchEvent`; ERROR events raise."""

    def __init__(self, resp: Any, what: str) -> None:
        self._resp = resp
        self._what = what
        self._closed = False

    def __iter__(self) -> Iterator[WatchEvent]:
        raw = self._resp.response
        buf = b""
        try:
            for chunk in raw.stream(amt=None, decode_content=False):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield _event(json.loads(line))
            if buf.strip():
                yield _event(json.loads(buf))
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as err:
            if not self._closed:
                raise Unavailable(f"watch {self._what} broke: {type(err).__name__}: {err}") from None
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        raw = self._resp.response
        with contextlib.suppress(Exception):  # already closed or never connected: nothing to stop
            raw.shutdown()
        raw.release_conn()


def _event(data: Mapping[str, Any]) -> WatchEvent:
    kind = data.get("type")
    obj = data.get("object") or {}
    if kind == "ERROR":
        raise error_from_response(int(obj.get("code") or 500), obj)
    if kind not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        raise Unavailable(f"unexpected watch event type {kind!r}")
    return WatchEvent(kind, obj)
