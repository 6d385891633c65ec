"""Faults injected per vendor or route: latency, 5xx, 429 bursts, dropped connections, expired tokens."""

from __future__ import annotations

import itertools
import random
import threading
from typing import Literal

from pydantic import BaseModel, Field

# drop: the connection drops before the request is handled; drop_after_apply: the request is
# handled (a write is applied) and then the connection drops, so the client never learns of it.
FaultKind = Literal["latency", "error", "rate_limit", "drop", "drop_after_apply", "expire_tokens"]


class Fault(BaseModel):
    """One fault. It hits requests to ``vendor`` whose real path starts with ``route`` (and ``method``).

    ``count`` is how many requests it hits before it disappears (None: until cleared);
    ``share`` the fraction of matching requests it hits (for flaky 5xx).
    """

    vendor: str
    kind: FaultKind
    route: str = ""
    method: str | None = None
    latency_ms: int = Field(default=0, ge=0)
    share: float = Field(default=1.0, ge=0.0, le=1.0)
    status: int = Field(default=503, ge=500, le=599)
    retry_after: int = Field(default=1, ge=0)
    count: int | None = Field(default=None, ge=1)
    id: int = 0


class FaultBoard:
    """The active faults. Draws for ``share`` come from a fixed seed so a test run is repeatable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._random = random.Random(0)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault = fault.model_copy(update={"id": next(self._ids)})
            self._faults.append(fault)
        return fault

    def list(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._random = random.Random(0)

    def strike(self, vendor: str, method: str, path: str) -> tuple[int, Fault | None]:
        """The latency to add to this request and the fault (other than latency) that answers it, if any."""
        latency_ms, answer = 0, None
        with self._lock:
            for fault in list(self._faults):
                if fault.vendor != vendor or not path.startswith(fault.route):
                    continue
                if fault.method and fault.method.upper() != method:
                    continue
                if fault.kind == "latency":
                    latency_ms += fault.latency_ms
                elif answer is None and self._random.random() < fault.share:
                    answer = fault
                else:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
        return latency_ms, answer
