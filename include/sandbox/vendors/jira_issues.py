"""Jira issues: search by JQL, create, edit, transitions, comments, attachments, properties."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/rest/api/3")
