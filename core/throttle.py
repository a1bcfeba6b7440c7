"""Progressive delays for guessable secrets (passwords, bind codes), per account and per address.

A few failures cost nothing. After that each further failure makes the next
attempt wait twice as long as the last (capped), so an attacker's guesses
slow to a trickle while the real user, who stops after a typo or two, is
never locked out for good: once the wait has passed the right answer works.
Counters live in the rate limiter's store (Redis in production, shared by
every worker), never in the database, so a rolled-back request still counts.

An attempt is counted before it is evaluated, in one atomic step with the
check (a Lua script in Redis, a lock in the in-process store): the attempt
that reaches the free failures starts the next wait at once, so attempts
sent in parallel cannot all pass the check before the first failure is
counted. An attempt that turns out right gives its count back (or, for the
account, has all its failures forgiven); one that never got to the secret
(the order was not ready, the account already bound) gives it back too.
"""

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from limits.storage import RedisStorage

from core.errors import RateLimited
from core.extensions import limiter

# KEYS: failures, wait. ARGV: window seconds, free failures, first wait, longest wait.
# → {1, started a wait (0/1)} when the attempt is counted, {0, wait left in ms} when it must wait.
_RESERVE = """
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {0, left} end
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local free = tonumber(ARGV[2])
if failures < free then return {1, 0} end
local wait = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (failures - free))
redis.call('SET', KEYS[2], '1', 'EX', math.max(1, math.floor(wait)))
return {1, 1}
"""
# KEYS: failures, wait. ARGV: '1' when the attempt given back had started the wait.
_GIVE_BACK = """
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
if ARGV[1] == '1' then redis.call('DEL', KEYS[2]) end
return 1
"""
_LOCAL = threading.Lock()  # the in-process store: every throttle step of this process, one at a time


@dataclass(frozen=True)
class Throttle:
    name: str
    free_failures: int  # failures within the window before any wait
    window_seconds: int  # failures older than this are forgotten
    base_config: str  # config key: seconds of the first wait (it doubles from there)
    max_seconds: int = 15 * 60

    def _keys(self, key: str) -> tuple[str, str]:
        return f"throttle:{self.name}:fail:{key}", f"throttle:{self.name}:wait:{key}"

    def _wait_seconds(self, failures: int) -> int:
        base = current_app.config[self.base_config]
        return min(self.max_seconds, base * 2 ** (failures - self.free_failures))

    def reserve(self, key: str) -> bool:
        """Count an attempt for ``key``, or 429 with Retry-After while it must wait; True if it started a wait."""
        fail_key, wait_key = self._keys(key)
        storage = limiter.storage
        if isinstance(storage, RedisStorage):
            script = storage.get_connection().register_script(_RESERVE)
            base = current_app.config[self.base_config]
            counted, value = script(
                keys=[storage.prefixed_key(fail_key), storage.prefixed_key(wait_key)],
                args=[self.window_seconds, self.free_failures, base, self.max_seconds],
            )
            if not counted:
                _must_wait(math.ceil(int(value) / 1000))
            return bool(value)
        with _LOCAL:
            if storage.get(wait_key):
                _must_wait(math.ceil(storage.get_expiry(wait_key) - time.time()))
            failures = storage.incr(fail_key, self.window_seconds)
            if failures < self.free_failures:
                return False
            storage.clear(wait_key)
            storage.incr(wait_key, self._wait_seconds(failures))
            return True

    def give_back(self, key: str, started_wait: bool) -> None:
        """Undo a reservation whose attempt was right or never evaluated."""
        fail_key, wait_key = self._keys(key)
        storage = limiter.storage
        if isinstance(storage, RedisStorage):
            script = storage.get_connection().register_script(_GIVE_BACK)
            keys = [storage.prefixed_key(fail_key), storage.prefixed_key(wait_key)]
            script(keys=keys, args=["1" if started_wait else "0"])
            return
        with _LOCAL:
            if storage.decr(fail_key) <= 0:
                storage.clear(fail_key)
            if started_wait:
                storage.clear(wait_key)

    def forgive(self, key: str) -> None:
        """The right answer for ``key`` (an account): its failures are forgiven."""
        fail_key, wait_key = self._keys(key)
        with _LOCAL:
            limiter.storage.clear(fail_key)
            limiter.storage.clear(wait_key)


def _must_wait(seconds: int) -> None:
    retry_after = max(1, seconds)
    raise RateLimited(f"尝试次数过多，请 {retry_after} 秒后再试", details={"retry_after_seconds": retry_after})


@dataclass
class Attempt:
    """One guess counted against each (throttle, key); the first key is the account its success forgives."""

    reserved: list[tuple[Throttle, str, bool]] = field(default_factory=list)
    outcome: str | None = None

    def failed(self) -> None:
        """A wrong guess: it stays counted."""
        self.outcome = "failed"

    def succeeded(self) -> None:
        """The right answer: the account's failures are forgiven, the other counts given back."""
        (account, key, _), *others = self.reserved
        account.forgive(key)
        for throttle, other_key, started in others:
            throttle.give_back(other_key, started)
        self.outcome = "succeeded"

    def give_back(self) -> None:
        for throttle, key, started in reversed(self.reserved):
            throttle.give_back(key, started)
        self.reserved = []


@contextmanager
def guessing(*limits: tuple[Throttle, str]) -> Iterator[Attempt]:
    """Count one guess against every ``(throttle, key)`` before it is evaluated (429 when any must wait).

    Inside, call ``failed()`` for a wrong guess or ``succeeded()`` for the right
    one; a guess that ends otherwise (an error before the secret was compared)
    gives its counts back.
    """
    attempt = Attempt()
    try:
        for throttle, key in limits:
            attempt.reserved.append((throttle, key, throttle.reserve(key)))
    except RateLimited:
        attempt.give_back()
        raise
    try:
        yield attempt
    finally:
        if attempt.outcome is None:
            attempt.give_back()


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
