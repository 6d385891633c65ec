"""Graph's paths as its clients write them, and Graph's answer to a path or method it does not serve.

Graph reads ``/v1.0//users`` (the Kiota-based SDKs join their base URL and path with a
slash too many) and ``/v1.0/users/`` as ``/v1.0/users``: :class:`GraphRoute` matches on the
path with runs of slashes folded and the trailing one dropped. A path no route serves
answers as Graph does, 400 ``BadRequest`` "Resource not found for the segment '...'" (or
"Invalid version." outside ``/v1.0``; the sandbox serves no ``/beta``); a served path asked
with a method it does not take answers 405, rendered by :func:`route_error`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from sandbox.vendors.graph.api import error

VERSION = "v1.0"


def tidy_path(path: str) -> str:
    return re.sub(r"/{2,}", "/", path).rstrip("/") or "/"


class GraphRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return super().matches({**scope, "path": tidy_path(scope["path"])})


def route_error(status: int, message: str) -> JSONResponse:
    """Graph's body for what the framework answers itself: a wrong method, an unreadable request."""
    if status == 405:
        return error(
            405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
        )
    if status == 400:
        return error(400, "BadRequest", message)
    return error(status, "Request_ResourceNotFound", message)


def unserved_router(served: APIRouter) -> APIRouter:
    """``served`` followed by the route that takes every path it does not serve, with any method."""
    router = APIRouter(route_class=GraphRoute)
    router.include_router(served)

    @router.api_route(
        "/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    def unserved(request: Request, path: str) -> Any:
        segments = path.split("/")
        if segments[0] != VERSION:
            return error(400, "BadRequest", "Invalid version.")
        vendor_prefix = tidy_path(request.scope["path"])[: -len(path)]
        for end in range(len(segments), 1, -1):
            if _served(request, vendor_prefix + "/".join(segments[:end])):
                if end == len(segments):
                    raise HTTPException(405)
                return _no_segment(segments[end])
        if len(segments) == 1:
            raise HTTPException(404, "Resource not found.")
        return _no_segment(segments[1])

    return router


def _no_segment(segment: str) -> JSONResponse:
    return error(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _served(request: Request, path: str) -> bool:
    """Whether a route other than the one answering serves ``path``, with whatever method."""
    scope = {"type": "http", "path": path, "method": request.method}
    return any(
        route is not request.scope.get("route") and route.matches(scope)[0] != Match.NONE
        for route in request.app.router.routes
    )
