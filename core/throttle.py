"""Progressive delays for guessable secrets (passwords, bind codes), per account and per address.

A few failures cost nothing. After that each further failure makes the next
attempt wait twice as long as the last (capped), so an attacker's guesses
slow to a trickle while the real user, who stops after a typo or two, is
never locked out for good: once the wait has passed the right answer works.
Counters live in the rate limiter's store (Redis in production, shared by
every worker), never in the database, so a rolled-back request still counts.
"""

import math
import time
from dataclasses import dataclass

from flask import current_app

from core.errors import RateLimited
from core.extensions import limiter


@dataclass(frozen=True)
class Throttle:
    name: str
    free_failures: int  # failures within the window before any wait
    window_seconds: int  # failures older than this are forgotten
    base_config: str  # config key: seconds of the first wait (it doubles from there)
    max_seconds: int = 15 * 60

    def _keys(self, key: str) -> tuple[str, str]:
        return f"throttle:{self.name}:fail:{key}", f"throttle:{self.name}:wait:{key}"

    def check(self, *keys: str) -> None:
        """429 with Retry-After when any of ``keys`` must still wait."""
        storage = limiter.storage
        for key in keys:
            _, wait_key = self._keys(key)
            if storage.get(wait_key):
                retry_after = max(1, math.ceil(storage.get_expiry(wait_key) - time.time()))
                raise RateLimited(
                    f"尝试次数过多，请 {retry_after} 秒后再试", details={"retry_after_seconds": retry_after}
                )

    def failed(self, *keys: str) -> None:
        """Count a failure for each key; past the free ones, start the next (doubled) wait."""
        storage = limiter.storage
        base = current_app.config[self.base_config]
        for key in keys:
            fail_key, wait_key = self._keys(key)
            failures = storage.incr(fail_key, self.window_seconds)
            if failures >= self.free_failures:
                wait = min(self.max_seconds, base * 2 ** (failures - self.free_failures))
                storage.clear(wait_key)
                storage.incr(wait_key, wait)

    def succeeded(self, key: str) -> None:
        """The right answer for ``key`` (an account): its failures are forgiven."""
        fail_key, wait_key = self._keys(key)
        limiter.storage.clear(fail_key)
        limiter.storage.clear(wait_key)


# Staff passwords: 5 free failures per username, 20 per address (spraying one guess over many names).
LOGIN_BY_ACCOUNT = Throttle("login-account", 5, 15 * 60, "THROTTLE_BASE_SECONDS")
LOGIN_BY_ADDRESS = Throttle("login-address", 20, 15 * 60, "THROTTLE_BASE_SECONDS")
# Seller bind codes (6 digits): 5 per WeChat account, 10 per address (a second account does not start afresh).
BIND_BY_ACCOUNT = Throttle("bind-account", 5, 60 * 60, "THROTTLE_BASE_SECONDS")
BIND_BY_ADDRESS = Throttle("bind-address", 10, 60 * 60, "THROTTLE_BASE_SECONDS")
# Unit invite codes (8 digits, issued by a unit's admin): the same shape of limit as seller bind codes.
UNIT_BIND_BY_ACCOUNT = Throttle("unit-bind-account", 5, 60 * 60, "THROTTLE_BASE_SECONDS")
UNIT_BIND_BY_ADDRESS = Throttle("unit-bind-address", 10, 60 * 60, "THROTTLE_BASE_SECONDS")
# Pickup codes (6 digits): 5 wrong tries per order, 20 per staff account (a station guessing through orders).
PICKUP_BY_ORDER = Throttle("pickup-order", 5, 60 * 60, "THROTTLE_BASE_SECONDS")
PICKUP_BY_STAFF = Throttle("pickup-staff", 20, 60 * 60, "THROTTLE_BASE_SECONDS")
