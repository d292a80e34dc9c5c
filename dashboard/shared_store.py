"""The store of sign-ins in Redis, when the dashboard has REDIS_URL: a restart keeps every
manager signed in, and several dashboard processes behind a load balancer share the sign-ins
(docs/decisions.md, "Dashboard sessions"). dashboard/session.py uses it in place of its
MemoryStore; the calls are the same.

Keys, under DASHBOARD_REDIS_PREFIX ("dashboard:"), each expiring when what it holds ends:
- `signin:<sid>`: the sign-in (tokens, refresh token, ends, viewer) as JSON, encrypted with
  Fernet under a key derived from DASHBOARD_SECRET: a refresh token is a credential, and
  Redis is shared with the API and the worker. The key expires at the entry's ends_at.
- `ticket:<ticket>`: the sign-in id, for 60 s; redeemed with GETDEL, so only once.
- `renewing:<sid>`: a redis-py Lock held while the sign-in's refresh token is traded, so that
  two processes never trade the same one (the API would end the session)."""

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import redis
from cryptography.fernet import Fernet, InvalidToken
from redis.exceptions import LockNotOwnedError, RedisError

# Longer than a renewal can take (the API answers within its timeouts); a process that dies
# holding the lock frees it after this.
RENEWING_SECONDS = 30
# A page waits this long at most for Redis before saying it cannot reach it.
REDIS_TIMEOUT_SECONDS = 2


class StoreUnavailable(Exception):
    """Redis did not answer: the page says so and asks to try again; nothing is lost, the
    sign-ins are still in Redis when it is back."""


@contextlib.contextmanager
def _reaching() -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable("The dashboard's sign-in store (Redis) is not reachable just now.") from exc


class SharedStore:
    def __init__(self, url: str, secret: str, prefix: str = "dashboard:"):
        if not secret:
            raise RuntimeError("DASHBOARD_SECRET must be set when the dashboard keeps its sign-ins in Redis "
                               "(REDIS_URL): it encrypts the stored tokens.")
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_timeout=REDIS_TIMEOUT_SECONDS)
        self.prefix = prefix
        key = hashlib.sha256(b"dashboard sign-in store\0" + secret.encode()).digest()
        self.fernet = Fernet(base64.urlsafe_b64encode(key))

    @classmethod
    def from_environment(cls) -> "SharedStore | None":
        url = os.environ.get("REDIS_URL")
        if not url:
            return None
        return cls(url, os.environ.get("DASHBOARD_SECRET", ""), os.environ.get("DASHBOARD_REDIS_PREFIX", "dashboard:"))

    def _signin(self, sid: str) -> str:
        return f"{self.prefix}signin:{sid}"

    def _sealed(self, entry: dict) -> tuple[bytes, int]:
        """The entry encrypted, and the seconds it has left (at least one)."""
        left = (datetime.fromisoformat(entry["ends_at"]) - datetime.now(UTC)).total_seconds()
        return self.fernet.encrypt(json.dumps(entry).encode()), max(1, int(left) + 1)

    def keep(self, sid: str, entry: dict) -> None:
        value, seconds = self._sealed(entry)
        with _reaching():
            self.redis.set(self._signin(sid), value, ex=seconds)

    def replace(self, sid: str, entry: dict) -> None:
        """A renewal's pair, only while the sign-in is there (XX): a sign-out in another
        process meanwhile stays a sign-out."""
        value, seconds = self._sealed(entry)
        with _reaching():
            self.redis.set(self._signin(sid), value, ex=seconds, xx=True)

    def get(self, sid: str) -> dict | None:
        with _reaching():
            value = self.redis.get(self._signin(sid))
        if value is None:
            return None
        try:
            return json.loads(self.fernet.decrypt(value))
        except InvalidToken:  # sealed under another DASHBOARD_SECRET: as good as gone
            self.forget(sid)
            return None

    def forget(self, sid: str) -> None:
        with _reaching():
            self.redis.delete(self._signin(sid))

    def add_ticket(self, ticket: str, sid: str, seconds: int) -> None:
        with _reaching():
            self.redis.set(f"{self.prefix}ticket:{ticket}", sid, ex=seconds)

    def take_ticket(self, ticket: str) -> str | None:
        with _reaching():
            sid = self.redis.getdel(f"{self.prefix}ticket:{ticket}")
        return sid.decode() if sid else None

    @contextlib.contextmanager
    def renewing(self, sid: str) -> Iterator[None]:
        lock = self.redis.lock(f"{self.prefix}renewing:{sid}", timeout=RENEWING_SECONDS, blocking=True)
        with _reaching():
            lock.acquire()
        try:
            yield
        finally:
            with contextlib.suppress(LockNotOwnedError, RedisError):  # expired, or Redis gone: it lapses
                lock.release()
