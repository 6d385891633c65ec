"""The options one sandbox runs with, shared by the CLI, the app and the test helper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8900


@dataclass(frozen=True)
class SandboxConfig:
    """Where the sandbox keeps its world and which world it seeds when the data dir is empty."""

    data_dir: Path
    seed: int = 1
    users: int = 1000
    site: str = "jirasync"
    tls: bool = False

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"sandbox users must be at least 1, got {self.users}: pass --users 1 or more")
        if not self.site.isidentifier() and not self.site.replace("-", "").isalnum():
            raise ValueError(
                f"sandbox site {self.site!r} is not a valid host label: use letters, digits, '-'"
            )

    @property
    def jira_host(self) -> str:
        """The real host name of the emulated Jira Cloud site (``<site>.atlassian.net``)."""
        return f"{self.site}.atlassian.net"
