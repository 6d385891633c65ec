"""The sandbox's certificate names every real host a vendor answers at, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

from sandbox.registry import load_vendors
from sandbox.tls import ensure_certificates

ANY_LABEL = "[a-z0-9][a-z0-9-]*"  # how vendor host patterns say "any site name"


def host_names(pattern: str) -> list[str]:
    """The names a vendor's host pattern stands for: alternatives expanded, any-label as ``*``."""
    pattern = pattern.replace(ANY_LABEL, "*")
    group = re.fullmatch(r"(.*)\(([^()]*)\)(.*)", pattern)
    if group:
        head, choices, tail = group.groups()
        return [name for choice in choices.split("|") for name in host_names(head + choice + tail)]
    name = pattern.replace("\\.", ".")
    assert re.fullmatch(r"[a-z0-9.*-]+", name), f"the test cannot read the host pattern {pattern!r}"
    return [name]


def certificate_names(data_dir: Path) -> set[str]:
    _, server_path, _ = ensure_certificates(data_dir)
    server = x509.load_pem_x509_certificates(server_path.read_bytes())[0]
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.DNSName)) | {
        str(address) for address in names.get_values_for_type(x509.IPAddress)
    }


def test_host_names_expands_alternatives_and_site_labels() -> None:
    assert host_names(r"a\.b\.(com|com\.au)") == ["a.b.com", "a.b.com.au"]
    assert host_names(rf"{ANY_LABEL}\.my\.salesforce\.com") == ["*.my.salesforce.com"]


def test_the_certificate_covers_exactly_the_vendors_real_hosts(tmp_path: Path) -> None:
    vendor_hosts = {
        name for vendor in load_vendors().values() for pattern in vendor.hosts for name in host_names(pattern)
    }
    assert "www.zohoapis.uk" in vendor_hosts
    assert certificate_names(tmp_path) == vendor_hosts | {"localhost", "127.0.0.1"}
