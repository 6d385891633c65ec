"""Jira users, groups, user properties, /myself and /serverInfo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from sandbox.vendors.jira_api import ADMIN_ACCOUNT_ID, api_url, jira, jira_time, user_json

router = APIRouter(prefix="/rest/api/3")


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
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }
