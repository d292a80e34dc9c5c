"""#14 finding 10: slow clients were never cut off. A real `partner-platform api` process
with short deadlines: a connection that sends no request, headers that trickle in, and a
body that trickles in are each cut off; past the concurrency limit the API answers 503."""

import http.client
import socket
import time

import pytest

from tests.processes import environment, start_api


@pytest.fixture(scope="module")
def slow_api(settings):
    process, base = start_api(environment(settings, API_HEADER_SECONDS="1", API_BODY_SECONDS="1",
                                          API_LIMIT_CONCURRENCY="4"))
    yield base.removeprefix("http://").split(":")
    process.stop()


def open_socket(address) -> socket.socket:
    host, port = address
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closed the connection (reads b""), sending `trickle` a
    byte at a time meanwhile; None if still open after `seconds`."""
    start = time.monotonic()
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() - start < seconds:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent:sent + 1])
                sent += 1
            except OSError:
                return time.monotonic() - start
        try:
            data = sock.recv(4096)
            if data == b"" or data.startswith(b"HTTP/1.1 408"):
                return time.monotonic() - start
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def test_a_connection_that_sends_nothing_is_closed(slow_api):
    with open_socket(slow_api) as sock:
        assert (closed_within(sock, 5) or 99) < 3


def test_headers_sent_a_byte_at_a_time_are_cut_off(slow_api):
    headers = b"POST /graphql HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    with open_socket(slow_api) as sock:
        assert (closed_within(sock, 5, headers) or 99) < 3


def test_a_body_sent_a_byte_at_a_time_is_answered_408(slow_api):
    request = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    with open_socket(slow_api) as sock:
        sock.sendall(request)
        assert (closed_within(sock, 5, b"{" * 100) or 99) < 3


def test_a_prompt_client_is_served_and_kept_alive(slow_api):
    host, port = slow_api
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for _ in range(2):  # the second request on the same connection
            connection.request("POST", "/graphql", body=b'{"query": "{ markets { code } }"}',
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200 and b"markets" in response.read()
        assert connection.sock is not None
    finally:
        connection.close()


def test_past_the_concurrency_limit_the_api_answers_503(slow_api):
    held = [open_socket(slow_api) for _ in range(4)]
    try:
        with open_socket(slow_api) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
