"""The far ends of bench/notifications.py, each its own OS process: an SMTP server
(aiosmtpd) and a webhook receiver (uvicorn). Each accepts everything and appends one line
per message to a file: the arrival time (Unix seconds) and the message's id (Message-ID,
or webhook-id), so the benchmark can count arrivals and duplicates.

    python bench/sinks.py smtp PORT FILE
    python bench/sinks.py http PORT FILE

Not meant to be run by hand: notifications.py starts it by path, as it imports nothing of
ours. Runs until SIGTERM."""

import re
import signal
import sys
import threading
import time

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def smtp(port: int, out) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            found = MESSAGE_ID.search(head)
            out.write(f"{time.time():.6f} {found.group(1).decode() if found else '-'}\n")
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def http(port: int, out) -> None:
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:  # read the body, as a receiver must before it answers
            message = await receive()
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        out.write(f"{time.time():.6f} {headers.get(b'webhook-id', b'-').decode()}\n")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    kind, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "a", buffering=1) as out:  # a line at a time: the benchmark reads it live
        {"smtp": smtp, "http": http}[kind](port, out)


if __name__ == "__main__":
    main()
