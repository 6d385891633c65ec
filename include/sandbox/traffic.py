"""Per-endpoint request counters and a bounded request log, so tests can say "N calls, ideal M"."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

LOG_SIZE = 10_000


class Traffic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests being answered now: a write whose client gave up (a timeout, a killed process)
        still lands, and a test waits for it before the next run looks."""
        return self._in_flight

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def record(self, vendor: str, method: str, route: str, path: str, query: str, status: int) -> None:
        """Count one answered request under ``"<vendor> <METHOD> <route template>"``."""
        with self._lock:
            self._counts[f"{vendor} {method} {route}"] += 1
            self._log.append(
                {
                    "time": time.time(),
                    "vendor": vendor,
                    "method": method,
                    "route": route,
                    "path": path,
                    "query": query,
                    "status": status,
                }
            )

    def counters(self) -> dict[str, int]:
        return dict(self._counts)

    def log(self, limit: int) -> list[dict[str, Any]]:
        return list(self._log)[-limit:]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._log.clear()
