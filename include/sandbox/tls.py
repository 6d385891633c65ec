"""A certificate authority of the sandbox's own, so unmodified SDKs can talk HTTPS to the real host names."""

from __future__ import annotations

from pathlib import Path

import trustme

# Every real host name a vendor answers at, plus the loopback names.
CERTIFICATE_HOSTS = (
    "127.0.0.1",
    "localhost",
    "*.atlassian.net",
    "api.atlassian.com",
    "graph.microsoft.com",
    "login.microsoftonline.com",
    "www.zohoapis.com",
    "www.zohoapis.eu",
    "www.zohoapis.in",
    "www.zohoapis.com.au",
    "www.zohoapis.jp",
    "www.zohoapis.com.cn",
    "www.zohoapis.sa",
    "www.zohoapis.ca",
    "www.zohoapis.uk",
    "accounts.zoho.com",
    "accounts.zoho.eu",
    "accounts.zoho.in",
    "accounts.zoho.com.au",
    "accounts.zoho.jp",
    "accounts.zoho.com.cn",
    "accounts.zoho.sa",
    "accounts.zoho.uk",
    "accounts.zohocloud.ca",
    "login.salesforce.com",
    "test.salesforce.com",
    "*.my.salesforce.com",
)


def ensure_certificates(data_dir: Path) -> tuple[Path, Path, Path]:
    """The CA (``ca.pem``, to trust), the server chain and its key; made once, then reused across restarts."""
    ca_path, cert_path, key_path = data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server.key"
    if not (ca_path.exists() and cert_path.exists() and key_path.exists()):
        data_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="jirasync sandbox")
        server = ca.issue_cert(*CERTIFICATE_HOSTS)
        server.private_key_pem.write_to_path(str(key_path))
        cert_path.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
        ca.cert_pem.write_to_path(str(ca_path))
    return ca_path, cert_path, key_path
