"""Vendors' pushes to the URLs registered with them (Jira's webhooks, Zoho CRM's notifications,
Salesforce's change events), posted from a thread of their own.

A write is answered before its pushes go, as the vendors' arrive: later, in no guaranteed order,
and not retried once refused. A vendor's admin action sets the faults of its deliveries
(``DeliveryFaults``): a delay, and the shares of deliveries dropped, sent twice, or held back
behind the next one (reordered; alone, it goes a second later).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from typing import Any

import requests
from pydantic import BaseModel, Field

from sandbox.vendor import VendorState

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 10
HELD_AT_MOST_S = 1.0  # a delivery held back (reordered) goes after the next one, or after this
FAULTS = "push_delivery"  # the record, in a vendor's ``settings`` collection, of its deliveries' faults


class DeliveryFaults(BaseModel):
    """What goes wrong on the way: shares (0 to 1) of deliveries dropped, sent twice, or held back
    behind the next delivery; and a delay before each."""

    delay_ms: int = Field(default=0, ge=0)
    drop: float = Field(default=0.0, ge=0, le=1)
    duplicate: float = Field(default=0.0, ge=0, le=1)
    reorder: float = Field(default=0.0, ge=0, le=1)


def faults_of(state: VendorState) -> DeliveryFaults:
    return DeliveryFaults.model_validate(state.collection("settings").get(FAULTS) or {})


def set_delivery_faults(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """A vendor's admin action ``webhook_deliveries``: ``{"delay_ms", "drop", "duplicate", "reorder"}``."""
    faults = DeliveryFaults.model_validate(payload)
    state.collection("settings").put(FAULTS, faults.model_dump())
    return faults.model_dump()


Push = tuple[str, bytes, dict[str, str]]  # the URL, the body, the headers


class Deliveries:
    """Pushes on their way, posted one by one."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Push, DeliveryFaults]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._random = random.Random(0)
        self._held: Push | None = None

    def send(self, url: str, body: bytes, headers: dict[str, str], faults: DeliveryFaults) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vendor-pushes", daemon=True)
                self._thread.start()
        self._queue.put(((url, body, headers), faults))

    def idle(self) -> bool:
        """Nothing waiting to be sent, nor held back."""
        return self._queue.unfinished_tasks == 0 and self._held is None

    def _run(self) -> None:
        while True:
            try:
                push, faults = self._queue.get(timeout=HELD_AT_MOST_S if self._held else None)
            except queue.Empty:  # no next delivery came: the one held back goes now
                held, self._held = self._held, None
                if held is not None:
                    _post(held)
                continue
            try:
                self._deliver(push, faults)
            finally:
                self._queue.task_done()

    def _deliver(self, push: Push, faults: DeliveryFaults) -> None:
        if faults.delay_ms:
            time.sleep(faults.delay_ms / 1000)
        if self._random.random() < faults.drop:
            return
        if self._random.random() < faults.reorder and self._held is None:
            self._held = push  # goes after the next delivery
            return
        copies = 2 if self._random.random() < faults.duplicate else 1
        for _ in range(copies):
            _post(push)
        if self._held is not None:
            held, self._held = self._held, None
            _post(held)


def _post(push: Push) -> None:
    url, body, headers = push
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
        if answer.status_code >= 300:
            log.warning("a push to %s answered %d; not retried", url, answer.status_code)
    except requests.RequestException as failure:
        log.warning("a push to %s failed: %s; not retried", url, failure)


DELIVERIES = Deliveries()
