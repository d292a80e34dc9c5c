"""Open subscriptions end when their session does (S-28, #14 finding 4).

Every subscription registers a Watch for its connection's session. A watch ends, with a
coded error that the subscription raises, when:
- its access token expires (TOKEN_EXPIRED): checked before each event is delivered, and
  by the re-check below when no event comes;
- its session is revoked (SESSION_REVOKED): logout, password change, second factor turned
  on, registration rejected, manager deactivated. The process that commits a revocation
  publishes whom it concerns on Redis (workers.queue.session_revoker); each API process
  ends the matching watches as the message arrives, in the same relay as contract events,
  so an event published after the revocation is never delivered to them;
- the re-check finds the session gone: every RECHECK_SECONDS one query over all the
  sessions this process watches (sessions.live) ends those revoked, whose user was
  deactivated or deleted, or whose revocation message was lost (Redis away).

So a subscription stops at once on a revocation message, and within RECHECK_SECONDS in the
worst case; and it never delivers an event once its process knows the session ended or
the token's time is past. Checking a watch before an event is two comparisons, no query."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import clock
from domain.errors import DomainError
from domain.services import sessions
from domain.services.sessions import SignedIn

log = logging.getLogger("gql_api.session_watch")

RECHECK_SECONDS = 5.0


class Watch:
    def __init__(self, signed_in: SignedIn):
        self.session_id = str(signed_in.session_id)
        self.user_id = str(signed_in.user.id)
        self.partner_id = str(signed_in.user.partner_id) if signed_in.user.partner_id else None
        self.expires_at = signed_in.expires_at
        self.error: DomainError | None = None
        self.ended = asyncio.get_running_loop().create_future()
        self._callbacks: list[Callable[[DomainError], None]] = []

    def problem(self, now: datetime | None = None) -> DomainError | None:
        """Why this subscription must deliver nothing more, or None."""
        if self.error is None and (now or clock.now()) >= self.expires_at:
            self.end(sessions.expired())
        return self.error

    def end(self, error: DomainError) -> None:
        if self.error is not None:
            return
        self.error = error
        if not self.ended.done():
            self.ended.set_exception(error)
            self.ended.exception()  # retrieved: no "never retrieved" warning if nobody waits
        for callback in self._callbacks:
            callback(error)

    def on_end(self, callback: Callable[[DomainError], None]) -> None:
        if self.error is not None:
            callback(self.error)
        else:
            self._callbacks.append(callback)

    async def until_ended(self, waiting: Any) -> Any:
        """Await `waiting` (a coroutine), unless the watch ends first: then raise its error."""
        task = asyncio.ensure_future(waiting)
        try:
            await asyncio.wait({task, self.ended}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if self.error is not None:
            task.cancel()
            raise self.error
        return task.result()


class SessionWatch:
    """This process's watches, by session, user and partner."""

    def __init__(self, recheck_seconds: float = RECHECK_SECONDS):
        self.recheck_seconds = recheck_seconds
        self._watches: set[Watch] = set()
        self._task: asyncio.Task | None = None

    def __len__(self) -> int:
        return len(self._watches)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._recheck_forever(), name="session-recheck")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def watch(self, signed_in: SignedIn | None) -> Iterator[Watch | None]:
        """A watch for the subscription's lifetime; None without a session (the caller's
        sign-in check refuses it)."""
        if signed_in is None:
            yield None
            return
        watch = Watch(signed_in)
        self._watches.add(watch)
        try:
            yield watch
        finally:
            self._watches.discard(watch)

    def revoked(self, item: dict[str, str]) -> None:
        """A revocation message (sessions.revocations): end the watches it names, now."""
        session_id, user_id = item.get("sessionId"), item.get("userId")
        partner_id, kept = item.get("partnerId"), item.get("except")
        for watch in list(self._watches):
            if ((session_id and watch.session_id == session_id)
                    or (user_id and watch.user_id == user_id and watch.session_id != kept)
                    or (partner_id and watch.partner_id == partner_id)):
                watch.end(sessions.revoked())

    async def recheck(self) -> None:
        """One query for every watched session: end the revoked and the expired."""
        now = clock.now()
        for watch in list(self._watches):
            watch.problem(now)
        watched = {UUID(w.session_id) for w in self._watches if w.error is None}
        if not watched:
            return
        holding = {str(i) for i in await sessions.live(watched)}
        for watch in list(self._watches):
            if watch.error is None and watch.session_id not in holding:
                watch.end(sessions.revoked())

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                await self.recheck()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database away: try again next time
                log.warning("could not re-check the sessions of open subscriptions", exc_info=True)
