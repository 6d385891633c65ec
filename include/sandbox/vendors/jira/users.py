"""Jira users, groups, user properties, /myself and /serverInfo."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendors.jira.api import (
    ADMIN_ACCOUNT_ID,
    api_url,
    email_keys,
    error,
    jira,
    jira_time,
    query_int,
    user_details_json,
    user_json,
)
from sandbox.vendors.jira.versions import RestRoute

router = APIRouter(route_class=RestRoute)

USERS_PAGE_MAX = 1000
USER_SEARCH_WALL = 1000
GROUP_PAGE_MAX = 50
PROPERTY_KEY_MAX = 255
PROPERTY_VALUE_MAX = 32768


@router.get("/myself")
def myself(request: Request) -> dict[str, Any]:
    return user_json(request, jira(request).collection("users").get(ADMIN_ACCOUNT_ID))


@router.get("/serverInfo")
def server_info(request: Request) -> dict[str, Any]:
    base = api_url(request, "")
    return {
        "baseUrl": base,
        "displayUrl": base,
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100287,
        "buildDate": "2025-12-01T00:00:00.000+0000",
        "serverTime": jira_time(dt.datetime.now(dt.UTC)),
        "scmInfo": "57a0ca5",
        "serverTitle": "Jira",
        "serverTimeZone": "Etc/UTC",
    }


@router.get("/users/search")
@router.get("/users")
def all_users(request: Request, startAt: str | None = None, maxResults: str | None = None) -> Any:
    """Every account, active or not, apps and customers too, as a bare array (no total, no isLast)."""
    start = max(0, query_int(startAt, 0, "startAt"))
    size = min(max(0, query_int(maxResults, 50, "maxResults")), USERS_PAGE_MAX)
    users = jira(request).collection("users")
    page = users.ids()[start : start + size]
    return [user_json(request, users.get(i)) for i in page]


@router.get("/user/search")
def search_users(
    request: Request,
    query: str | None = None,
    accountId: str | None = None,
    property: str | None = None,
    startAt: str | None = None,
    maxResults: str | None = None,
) -> Any:
    """Active users whose name or email starts with ``query``; a hidden email matches only in full."""
    if not (query or accountId or property):
        return error(400, "One of 'query', 'accountId' or 'property' must be provided.")
    start = max(0, query_int(startAt, 0, "startAt"))
    size = min(max(0, query_int(maxResults, 50, "maxResults")), USER_SEARCH_WALL)
    users = jira(request).collection("users")
    if accountId:
        found = [u for u in [users.get(accountId)] if u and u["active"]]
    elif query:
        needle = query.strip().casefold()
        candidates = itertools.chain(
            users.index("search", _search_terms).prefix(needle),
            users.index("email", email_keys).exact(needle),
        )
        found = [u for u in users.in_order(candidates) if u["active"] and _matches(u, needle)]
    else:
        found = _with_property(request, property or "")
    found = found[:USER_SEARCH_WALL]
    return [user_json(request, u) for u in found[start : start + size]]


def _search_terms(user: dict[str, Any]) -> list[str]:
    """What a query can be a prefix of: the name, each word of it, and the email if it is shown."""
    name = (user.get("displayName") or "").casefold()
    visible_email = [(user.get("emailAddress") or "").casefold()] if user.get("emailVisible", True) else []
    return [name, *name.split(), *visible_email]


def _matches(user: dict[str, Any], needle: str) -> bool:
    name = (user.get("displayName") or "").casefold()  # an account may have no name yet
    if name.startswith(needle) or any(word.startswith(needle) for word in name.split()):
        return True
    email = (user.get("emailAddress") or "").casefold()
    if not email:
        return False
    return email == needle if not user.get("emailVisible", True) else email.startswith(needle)


def _with_property(request: Request, expression: str) -> list[dict[str, Any]]:
    """``property=key.path=value``: users whose property holds that value at that path."""
    target, _, wanted = expression.partition("=")
    key, _, path = target.partition(".")
    users = jira(request).collection("users")
    found = []
    for record in jira(request).collection("user_properties"):
        value = record["properties"].get(key)
        for part in path.split(".") if path else []:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and str(value) == wanted and (user := users.get(record["accountId"])):
            found.append(user)
    return [u for u in found if u["active"]]


@router.get("/user")
def get_user(request: Request, accountId: str | None = None) -> Any:
    if not accountId:
        return error(400, "The query parameter 'accountId' is required.")
    user = jira(request).collection("users").get(accountId)
    if user is None:
        return error(
            404, f"Specified user does not exist or you do not have required permissions: {accountId}"
        )
    return user_json(request, user)


@router.get("/group/bulk")
def groups(request: Request, startAt: str | None = None, maxResults: str | None = None) -> Any:
    start = max(0, query_int(startAt, 0, "startAt"))
    size = min(max(1, query_int(maxResults, 50, "maxResults")), GROUP_PAGE_MAX)
    records = list(jira(request).collection("groups"))
    page = records[start : start + size]
    return {
        "maxResults": size,
        "startAt": start,
        "total": len(records),
        "isLast": start + size >= len(records),
        "values": [{"name": g["name"], "groupId": g["groupId"]} for g in page],
    }


@router.get("/group/member")
def group_members(
    request: Request,
    groupId: str | None = None,
    groupname: str | None = None,
    includeInactiveUsers: str | None = None,
    startAt: str | None = None,
    maxResults: str | None = None,
) -> Any:
    """Members of a group, 1–50 per page, as ``PageBeanUserDetails``."""
    start = max(0, query_int(startAt, 0, "startAt"))
    size = query_int(maxResults, 50, "maxResults")
    if size < 1:
        return error(400, "The 'maxResults' parameter must be between 1 and 50.")
    size = min(size, GROUP_PAGE_MAX)
    group = next(
        (g for g in jira(request).collection("groups") if g["groupId"] == groupId or g["name"] == groupname),
        None,
    )
    if group is None:
        return error(404, f"No group could be found with id or name: {groupId or groupname}.")
    users = jira(request).collection("users")
    members = [u for i in group["members"] if (u := users.get(i))]
    if includeInactiveUsers != "true":
        members = [u for u in members if u["active"]]
    page = members[start : start + size]
    is_last = start + size >= len(members)
    body: dict[str, Any] = {
        "self": str(request.url),
        "maxResults": size,
        "startAt": start,
        "total": len(members),
        "isLast": is_last,
        "values": [user_details_json(request, u) for u in page],
    }
    if not is_last:
        body["nextPage"] = api_url(
            request,
            f"/rest/api/3/group/member?groupId={group['groupId']}&startAt={start + size}&maxResults={size}",
        )
    return body


@router.get("/user/properties")
def user_property_keys(request: Request, accountId: str | None = None) -> Any:
    if (problem := _check_account(request, accountId)) is not None:
        return problem
    record = jira(request).collection("user_properties").get(accountId) or {"properties": {}}
    return {
        "keys": [
            {"key": k, "self": api_url(request, f"/rest/api/3/user/properties/{k}?accountId={accountId}")}
            for k in record["properties"]
        ]
    }


@router.get("/user/properties/{propertyKey}")
def get_user_property(request: Request, propertyKey: str, accountId: str | None = None) -> Any:
    if (problem := _check_account(request, accountId)) is not None:
        return problem
    record = jira(request).collection("user_properties").get(accountId) or {"properties": {}}
    if propertyKey not in record["properties"]:
        return error(404, f"The property '{propertyKey}' does not exist.")
    return {"key": propertyKey, "value": record["properties"][propertyKey]}


@router.put("/user/properties/{propertyKey}")
async def set_user_property(request: Request, propertyKey: str, accountId: str | None = None) -> Any:
    """Any JSON value as the raw body: 201 when created, 200 when replaced."""
    if (problem := _check_account(request, accountId)) is not None:
        return problem
    value_or_error = await property_value(request, propertyKey)
    if isinstance(value_or_error, Response):
        return value_or_error
    properties = jira(request).collection("user_properties")
    record = properties.get(accountId) or {"accountId": accountId, "properties": {}}
    created = propertyKey not in record["properties"]
    properties.put(accountId, {**record, "properties": {**record["properties"], propertyKey: value_or_error}})
    return JSONResponse({}, status_code=201 if created else 200)


@router.delete("/user/properties/{propertyKey}")
def delete_user_property(request: Request, propertyKey: str, accountId: str | None = None) -> Any:
    if (problem := _check_account(request, accountId)) is not None:
        return problem
    properties = jira(request).collection("user_properties")
    record = properties.get(accountId) or {"properties": {}}
    if propertyKey not in record["properties"]:
        return error(404, f"The property '{propertyKey}' does not exist.")
    remaining = {k: v for k, v in record["properties"].items() if k != propertyKey}
    properties.put(accountId, {**record, "properties": remaining})
    return Response(status_code=204)


def _check_account(request: Request, account_id: str | None) -> JSONResponse | None:
    if not account_id:
        return error(400, "The accountId query parameter needs to be provided.")
    if jira(request).collection("users").get(account_id) is None:
        return error(404, f"The user with account ID '{account_id}' does not exist.")
    return None


async def property_value(request: Request, key: str) -> Any:
    """The JSON body of an entity-property PUT, or Jira's 400 for a long key, big or invalid value."""
    if len(key) > PROPERTY_KEY_MAX:
        return error(400, f"The property key can't be longer than {PROPERTY_KEY_MAX} characters.")
    raw = (await request.body()).decode("utf-8", errors="replace")
    if len(raw) > PROPERTY_VALUE_MAX:
        return error(400, f"The property value can't be longer than {PROPERTY_VALUE_MAX} characters.")
    try:
        return json.loads(raw)
    except ValueError:
        return error(400, "The property value must be valid JSON.")
