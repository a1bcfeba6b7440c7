"""Asynchronous notifications: sent at once, retried on each gateway's documented schedule until acknowledged.

Times are plain epoch seconds. ``deliver_due(now)`` sends whatever is due at
``now``, so tests drive the schedule deterministically by passing the next due
time; the dispatcher thread (``start()``) does the same with the real clock.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from payments.providers.base import Gateway
from sandbox.signing import parse_xml

log = logging.getLogger(__name__)

# Intervals between attempts, in seconds (WeChat Pay v2 and Alipay documentation).
WECHAT_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
ALIPAY_SCHEDULE = (240, 600, 600, 3600, 7200, 21600, 54000)
# WeChat Pay API v3's notifications: signed headers, acknowledged by any 200/204. Its documented
# schedule is v2's: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m in all).
WECHAT_V3 = "wechat_v3"
WECHAT_V3_SCHEDULE = WECHAT_SCHEDULE
SCHEDULES = {Gateway.WECHAT: WECHAT_SCHEDULE, WECHAT_V3: WECHAT_V3_SCHEDULE, Gateway.ALIPAY: ALIPAY_SCHEDULE}
# Signs each sending of a gateway's notification anew (v3: a fresh Wechatpay-Timestamp every retry).
HeaderSigner = Callable[[bytes], dict[str, str]]
SEND_TIMEOUT = 5


@dataclass
class Attempt:
    at: float
    status: int | None  # None: no HTTP answer (refused, timeout)
    body: str
    acked: bool


@dataclass
class Delivery:
    """One notification and its attempts."""

    id: int
    gateway: str  # wechat, wechat_v3 or alipay
    kind: str  # payment, refund, or a test variant (duplicate, forged, …)
    out_trade_no: str
    url: str
    body: bytes
    content_type: str
    retry: bool
    next_at: float | None
    attempts: list[Attempt] = field(default_factory=list)
    acked: bool = False
    in_flight: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # fixed headers (test variants); else signed per send

    @property
    def given_up(self) -> bool:
        return not self.acked and not self.in_flight and self.next_at is None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "gateway": self.gateway,
            "kind": self.kind,
            "out_trade_no": self.out_trade_no,
            "url": self.url,
            "acked": self.acked,
            "given_up": self.given_up,
            "next_at": self.next_at,
            "attempts": [{"at": a.at, "status": a.status, "acked": a.acked} for a in self.attempts],
        }


def acknowledged(gateway: str, status: int | None, body: str) -> bool:
    """WeChat v2 wants return_code SUCCESS in XML, v3 a 200 or 204; Alipay the exact text "success"."""
    if gateway == WECHAT_V3:
        return status in (200, 204)
    if status != 200:
        return False
    if gateway == Gateway.ALIPAY:
        return body.strip() == "success"
    reply = parse_xml(body.encode("utf-8"))
    return bool(reply) and reply.get("return_code") == "SUCCESS"


class Notifier:
    """The queue of notifications, its schedule and the optional dispatcher thread."""

    def __init__(self, time_factor: float = 1.0, clock: Callable[[], float] = time.time):
        self.time_factor = time_factor
        self.clock = clock
        self.deliveries: list[Delivery] = []
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.signers: dict[str, HeaderSigner] = {}

    def enqueue(
        self,
        gateway: str,
        kind: str,
        out_trade_no: str,
        url: str,
        body: bytes,
        content_type: str,
        retry: bool = True,
        now: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Queue a notification, due at once."""
        with self._lock:
            delivery = Delivery(
                id=len(self.deliveries) + 1,
                gateway=gateway,
                kind=kind,
                out_trade_no=out_trade_no,
                url=url,
                body=body,
                content_type=content_type,
                retry=retry,
                next_at=self.clock() if now is None else now,
                headers=dict(headers or {}),
            )
            self.deliveries.append(delivery)
            self._lock.notify_all()
        return delivery

    def send_once(
        self,
        gateway: str,
        kind: str,
        out_trade_no: str,
        url: str,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Post one notification now and never again (test variants); the dispatcher never sees it."""
        with self._lock:
            delivery = Delivery(
                id=len(self.deliveries) + 1,
                gateway=gateway,
                kind=kind,
                out_trade_no=out_trade_no,
                url=url,
                body=body,
                content_type=content_type,
                retry=False,
                next_at=None,
                in_flight=True,
                headers=dict(headers or {}),
            )
            self.deliveries.append(delivery)
        attempt = self._send(delivery, self.clock())
        with self._lock:
            delivery.attempts.append(attempt)
            delivery.acked, delivery.in_flight = attempt.acked, False
        return delivery

    def pending(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if not d.acked and d.next_at is not None]

    def next_due(self) -> float | None:
        times = [d.next_at for d in self.pending() if d.next_at is not None]
        return min(times) if times else None

    def deliver_due(self, now: float | None = None) -> list[Delivery]:
        """Send every notification due at ``now`` once; schedule the next attempt of the unacknowledged."""
        now = self.clock() if now is None else now
        with self._lock:
            due = [d for d in self.deliveries if not d.acked and d.next_at is not None and d.next_at <= now]
            for delivery in due:
                delivery.in_flight, delivery.next_at = True, None
        for delivery in due:
            attempt = self._send(delivery, now)
            with self._lock:
                delivery.attempts.append(attempt)
                delivery.in_flight = False
                delivery.acked = attempt.acked
                schedule = SCHEDULES[delivery.gateway]
                tries = len(delivery.attempts)
                if not attempt.acked and delivery.retry and tries <= len(schedule):
                    delivery.next_at = now + schedule[tries - 1] * self.time_factor
        return due

    def run_until_settled(self, max_rounds: int = 100) -> None:
        """Jump from due time to due time until nothing is pending (tests; no sleeping)."""
        for _ in range(max_rounds):
            due = self.next_due()
            if due is None:
                return
            self.deliver_due(due)

    def _send(self, delivery: Delivery, now: float) -> Attempt:
        signer = self.signers.get(delivery.gateway)
        headers = delivery.headers or (signer(delivery.body) if signer else {})
        try:
            response = requests.post(
                delivery.url,
                data=delivery.body,
                headers={"Content-Type": delivery.content_type, **headers},
                timeout=SEND_TIMEOUT,
            )
        except requests.RequestException as exc:
            log.info("sandbox notification %s failed: %s", delivery.id, type(exc).__name__)
            return Attempt(now, None, "", False)
        body = response.text[:2000]
        acked = acknowledged(delivery.gateway, response.status_code, body)
        return Attempt(now, response.status_code, body, acked)

    # -- dispatcher thread --------------------------------------------------------------------

    def start(self) -> None:
        """Deliver in the background with the real clock until ``stop()``."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sandbox-notifier", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._lock.notify_all()
        if thread is not None:
            thread.join(timeout=SEND_TIMEOUT + 1)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                due = self.next_due()
                wait = 1.0 if due is None else max(0.0, min(1.0, due - self.clock()))
                if wait > 0:
                    self._lock.wait(wait)
                if self._stopping:
                    return
            self.deliver_due()
