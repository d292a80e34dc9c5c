"""A real HTTP receiver for webhooks (Starlette on uvicorn, in its own thread): it keeps
every request and answers with the status codes it is told to, then 200. It can take its
time (`delay`), or hold every answer until the test releases it (`stall`)."""

import asyncio
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.processes import free_port


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # the next answers, then 200
    delay: float = 0.0  # seconds before each answer
    # While set, each request is kept (it has arrived) but not answered until it is cleared.
    stall: threading.Event = field(default_factory=threading.Event)

    @property
    def event_types(self) -> list[str]:
        """In the order the events happened: deliveries run side by side, and arrive in
        any order (as Stripe's and GitHub's do)."""
        envelopes = sorted((json.loads(body) for _, body in self.received), key=lambda e: int(e["id"][4:]))
        return [envelope["type"] for envelope in envelopes]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/hooks")

    async def hook(request: Request) -> Response:
        body = await request.body()
        receiver.received.append((dict(request.headers), body))
        if receiver.delay:
            await asyncio.sleep(receiver.delay)
        for _ in range(600):  # at most a minute: a stalled test must still end
            if not receiver.stall.is_set():
                break
            await asyncio.sleep(0.1)
        return Response(status_code=receiver.answers.pop(0) if receiver.answers else 200)

    app = Starlette(routes=[Route("/hooks", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
