"""Graph v1.0 users: list with ``$select``/``$top``/``$filter``/``$expand=manager``, one user, its
manager, and delta (also in the function form ``/users/delta()`` the SDKs send).

Paging tokens are opaque to clients (base64 JSON here); next and delta links carry them and
point back at the host or prefix the request came in on. Query options of the first delta
request are baked into its tokens, as Graph does, so a delta link needs nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.lookup import candidates
from sandbox.store import Collection
from sandbox.vendors.graph.api import (
    DEFAULT_PAGE_SIZE,
    EXPAND_PAGE_CAP,
    MAX_PAGE_SIZE,
    context_url,
    error,
    graph,
    graph_url,
    parse_expand,
    parse_select,
    query_option,
    render_user,
)
from sandbox.vendors.graph.changes import change_log
from sandbox.vendors.graph.filter import GraphFilterError, folded, parse_graph_filter
from sandbox.vendors.graph.routing import GraphRoute

router = APIRouter(prefix="/v1.0", route_class=GraphRoute)

DELTA_TOKEN_LIFETIME_S = 7 * 24 * 3600  # identity delta tokens last 7 days


@router.get("/users")
def list_users(request: Request) -> Any:
    options = _read_options(request)
    if isinstance(options, JSONResponse):
        return options
    select, expand = options
    top_text = query_option(request, "top")
    page_size = DEFAULT_PAGE_SIZE
    if top_text is not None:
        if not re.fullmatch(r"-?\d+", top_text.strip()) or not 1 <= int(top_text) <= MAX_PAGE_SIZE:
            return error(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top_text}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive.",
            )
        page_size = int(top_text)
    if expand:
        page_size = min(page_size, EXPAND_PAGE_CAP)
    filter_text = query_option(request, "filter")
    if filter_text is None:
        users: list[dict[str, Any]] = list(graph(request).collection("users"))
    else:
        try:
            predicate = parse_graph_filter(filter_text)
        except GraphFilterError as exc:
            return error(400, "Request_UnsupportedQuery", str(exc))
        found = candidates(graph(request).collection("users"), predicate.lookups, folded)
        users = [u for u in found if predicate(u)]
    offset = 0
    skiptoken = query_option(request, "skiptoken")
    if skiptoken is not None:
        state = _decode(skiptoken)
        if state is None or not isinstance(state.get("offset"), int):
            return error(
                400, "Directory_ExpiredPageToken", "The specified page token value has expired or is invalid."
            )
        offset = state["offset"]
    page = users[offset : offset + page_size]
    body: dict[str, Any] = {"@odata.context": context_url(request, select)}
    if offset + page_size < len(users):
        kept = [(k, v) for k, v in request.query_params.multi_items() if k.lstrip("$") != "skiptoken"]
        query = urlencode([*kept, ("$skiptoken", _encode({"offset": offset + page_size}))], safe="$,()=")
        body["@odata.nextLink"] = graph_url(request, f"/v1.0/users?{query}")
    collection = graph(request).collection("users") if expand else None
    body["value"] = [render_user(u, select, collection) for u in page]
    return body


@router.get("/users/delta")
@router.get("/users/delta()")
def users_delta(request: Request) -> Any:
    log = change_log(graph(request))
    page_size, applied = _delta_page_size(request)
    token_text = query_option(request, "deltatoken") or query_option(request, "skiptoken")
    if token_text is None:
        options = _read_options(request)
        if isinstance(options, JSONResponse):
            return options
        select, expand = options
        token: dict[str, Any] = {"mode": "all", "upto": log.position, "offset": 0}
    else:
        token = _decode(token_text) or {}
        if "g" not in token or "q" not in token:
            return error(400, "Request_BadRequest", f"Invalid delta or skip token: '{token_text[:40]}'.")
        if token["g"] != log.generation or time.time() - token.get("t", 0) > DELTA_TOKEN_LIFETIME_S:
            return error(
                410,
                "SyncStateNotFound",
                f"The sync state generation is not found; generation={token['g']}. Start a new delta round.",
            )
        select, expand = tuple(token["q"]["select"]), token["q"]["expand"]
        if "mode" not in token:  # a delta link: the changes since its position
            token = {
                "mode": "changes",
                "since": token["since"],
                "upto": log.position,
                "after": token["since"],
            }
    if expand:
        page_size = min(page_size, EXPAND_PAGE_CAP)
    query = {"select": list(select), "expand": expand}
    users = log.users
    if token["mode"] == "all":
        ids = users.ids()[token["offset"] : token["offset"] + page_size]
        value = [_delta_user(users, users.get(i), select, expand) for i in ids]
        value = [v for v in value if v is not None]
        more = token["offset"] + page_size < len(users)
        next_token = {**token, "offset": token["offset"] + page_size}
    else:
        changes = log.since(token["after"], token["upto"])
        page = changes[:page_size]
        value = []
        for _sequence, user_id, removed in page:
            if removed is not None:
                value.append({"id": user_id, "@removed": {"reason": removed}})
            elif (user := _delta_user(users, users.get(user_id), select, expand)) is not None:
                value.append(user)
        more = len(changes) > page_size
        next_token = {**token, "after": page[-1][0]} if page else token
    stamp = {"g": log.generation, "q": query, "t": int(time.time())}
    body: dict[str, Any] = {"@odata.context": context_url(request, select, "/delta"), "value": value}
    if more:
        link = f"/v1.0/users/delta?$skiptoken={_encode({**stamp, **next_token})}"
        body = {
            "@odata.context": body["@odata.context"],
            "@odata.nextLink": graph_url(request, link),
            "value": value,
        }
    else:
        link = f"/v1.0/users/delta?$deltatoken={_encode({**stamp, 'since': token['upto']})}"
        body["@odata.deltaLink"] = graph_url(request, link)
    headers = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if applied else None
    return JSONResponse(body, headers=headers)


@router.get("/users/{user_id}")
def get_user(request: Request, user_id: str) -> Any:
    options = _read_options(request)
    if isinstance(options, JSONResponse):
        return options
    select, expand = options
    users = graph(request).collection("users")
    user = _find_user(users, user_id)
    if user is None:
        return _not_found(user_id)
    body = {"@odata.context": context_url(request, select, "/$entity")}
    return {**body, **render_user(user, select, users if expand else None)}


@router.get("/users/{user_id}/manager")
def get_manager(request: Request, user_id: str) -> Any:
    """The manager as a directory object: Graph's user shape, typed, ``$select`` honoured."""
    select = parse_select(query_option(request, "select"))
    if isinstance(select, str):
        return error(400, "Request_BadRequest", select)
    users = graph(request).collection("users")
    user = _find_user(users, user_id)
    if user is None:
        return _not_found(user_id)
    manager = users.get(user.get("manager") or "")
    if manager is None:
        return _not_found("manager")
    chosen = "" if query_option(request, "select") is None else f"({','.join(select)})"
    return {
        "@odata.context": graph_url(request, f"/v1.0/$metadata#directoryObjects{chosen}/$entity"),
        "@odata.type": "#microsoft.graph.user",
        **render_user(manager, select),
    }


def _find_user(users: Collection, user_id: str) -> dict[str, Any] | None:
    """By id, or by userPrincipalName as Graph also takes it."""
    user = users.get(user_id)
    if user is None:
        by_name = users.index("userPrincipalName", lambda u: [str(u.get("userPrincipalName", "")).lower()])
        user = next(iter(users.in_order(by_name.exact(user_id.lower()))), None)
    return user


def _not_found(resource: str) -> JSONResponse:
    return error(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource}' does not exist or one of its queried reference-property objects are not present.",
    )


def _read_options(request: Request) -> tuple[tuple[str, ...], bool] | JSONResponse:
    select = parse_select(query_option(request, "select"))
    if isinstance(select, str):
        return error(400, "Request_BadRequest", select)
    expand = parse_expand(query_option(request, "expand"))
    if isinstance(expand, str):
        return error(400, "Request_BadRequest", expand)
    return select, expand


def _delta_page_size(request: Request) -> tuple[int, bool]:
    """``Prefer: odata.maxpagesize=N`` sets the delta page size (at most 999); the default is 100."""
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", request.headers.get("prefer", ""))
    if match is None:
        return DEFAULT_PAGE_SIZE, False
    return max(1, min(MAX_PAGE_SIZE, int(match.group(1)))), True


def _delta_user(users: Collection, user: dict[str, Any] | None, select: tuple[str, ...], expand: bool) -> Any:
    """A user in a delta page; an expanded manager comes as ``manager@delta`` with the id only."""
    if user is None:
        return None
    rendered = render_user(user, select)
    if expand and user.get("manager") and users.get(user["manager"]) is not None:
        rendered["manager@delta"] = [{"@odata.type": "#microsoft.graph.user", "id": user["manager"]}]
    return rendered


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any] | None:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    return state if isinstance(state, dict) else None
