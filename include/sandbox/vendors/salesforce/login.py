"""Logging in: the OAuth token endpoint and the SOAP ``login`` call simple-salesforce sends.

``POST /services/oauth2/token`` takes the ``password`` grant (client id and secret, username,
password with or without the security token appended) and ``client_credentials`` (HTTP Basic or
form client id and secret; refused at login.salesforce.com and test.salesforce.com, as on
Salesforce, since it needs a My Domain). ``POST /services/Soap/u/{version}`` is the partner
API login that simple-salesforce uses for username + password + security token; the password
element carries the password with the token appended. Both answer with a session for the
org's instance as this client reaches the sandbox (``instance_url`` / ``serverUrl``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import xml.etree.ElementTree as ElementTree
from html import escape
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendors.salesforce.api import INTEGRATION_USER_ID, NAME, ORG_ID, instance_url, salesforce

USERNAME = "integration@northwind.example"
PASSWORD = "sandbox-salesforce-password"
SECURITY_TOKEN = "SbxSecurityToken0001"
CONSUMER_KEY = "3MVG9sandbox.jirasync.consumer.key"
CONSUMER_SECRET = "sandbox-salesforce-consumer-secret"
SESSION_LIFETIME_S = 2 * 3600

router = APIRouter()


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


@router.post("/services/oauth2/token")
async def token(request: Request) -> JSONResponse:
    form = await request.form()
    grant = str(form.get("grant_type") or "")
    client_id, client_secret = _client(request, form)
    if grant not in ("password", "client_credentials"):
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    if client_id != CONSUMER_KEY:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if client_secret != CONSUMER_SECRET:
        return _oauth_error("invalid_client", "invalid client credentials")
    if grant == "password":
        password = str(form.get("password") or "")
        if form.get("username") != USERNAME or password not in (PASSWORD, PASSWORD + SECURITY_TOKEN):
            return _oauth_error("invalid_grant", "authentication failure")
    elif request.headers.get("host", "").partition(":")[0].lower() in (
        "login.salesforce.com",
        "test.salesforce.com",
    ):
        return _oauth_error("invalid_grant", "request not supported on this domain")
    session = salesforce(request).tokens.issue(NAME, USERNAME, SESSION_LIFETIME_S)
    instance = instance_url(request)
    identity = f"{instance}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
    issued_at = str(int(time.time() * 1000))
    signature = hmac.new(CONSUMER_SECRET.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return JSONResponse(
        {
            "access_token": session,
            "instance_url": instance,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(signature).decode(),
        }
    )


@router.get("/services/oauth2/token")
def token_by_get() -> JSONResponse:
    return _oauth_error("invalid_request", "must use HTTP POST")


def _client(request: Request, form: Any) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (simple-salesforce's client credentials) or the form."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(form.get("client_id") or ""), str(form.get("client_secret") or "")


@router.post("/services/Soap/u/{version}")
async def soap_login(request: Request, version: str) -> Response:
    try:
        envelope = ElementTree.fromstring(await request.body())
    except ElementTree.ParseError:
        return _soap_fault("INVALID_LOGIN", "Invalid login request: the body is not a SOAP envelope")
    values = {element.tag.rpartition("}")[2]: element.text or "" for element in envelope.iter()}
    if values.get("username") != USERNAME or values.get("password") != PASSWORD + SECURITY_TOKEN:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    session = salesforce(request).tokens.issue(NAME, USERNAME, SESSION_LIFETIME_S)
    instance = instance_url(request)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{instance}/services/Soap/m/{escape(version)}/{ORG_ID}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{instance}/services/Soap/u/{escape(version)}/{ORG_ID}</serverUrl>"
        f"<sessionId>{session}</sessionId><userId>{INTEGRATION_USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{USERNAME}</userName>"
        f"<sessionSecondsValid>{SESSION_LIFETIME_S}</sessionSecondsValid></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, media_type="text/xml")


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml")
