"""Real processes for tests that cross process boundaries: uvicorn API processes and arq
workers, sharing the test run's database, Redis and data directory."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(popen: subprocess.Popen, seconds: float = 20) -> None:
    """SIGTERM to a process started in a session of its own, and to all it started; SIGKILL
    if they are not gone after `seconds`."""
    if popen.poll() is None:
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def environment(settings, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "QUEUE_NAME": settings.queue_name,
        "EVENTS_CHANNEL": settings.events_channel,
        "TRUST_SERVICES_PORT": str(settings.trust_services_port),
        "OVERVIEW_CACHE_SECONDS": str(settings.overview_cache_seconds),
    })
    env.update(overrides)
    return env


class Process:
    """`partner-platform <args>`, or another module's `python -m <module> <args>`. A clocked
    one runs on a clock the test moves (tests/clocked.py, move_clock)."""

    def __init__(self, args: list[str], env: dict[str, str], module: str = "ops.cli", clocked: bool = False):
        prefix = ["-m", "tests.clocked", module] if clocked else ["-m", module]
        self.popen = subprocess.Popen(
            [sys.executable, *prefix, *args], env=env, start_new_session=True, cwd=ROOT,
            stdin=subprocess.PIPE if clocked else None,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        # Read the output as it comes: a busy process (uvicorn logs every request) would
        # otherwise fill the pipe and block on its next write.
        self._lines: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self._lines.append(line)

    def output(self) -> str:
        """What the process printed: all of it once it has exited, so far while it runs."""
        if self.popen.poll() is None:
            return b"".join(self._lines).decode(errors="replace") + "\n(running)"
        self._reader.join(timeout=10)
        return b"".join(self._lines).decode(errors="replace")

    def move_clock(self, by: timedelta, timeout: float = 20) -> None:
        """Move a clocked process's clock on by `by` (it keeps ticking from there); returns
        once the process says it has."""
        moved = self._moves()
        self.popen.stdin.write(f"{by.total_seconds()}\n".encode())
        self.popen.stdin.flush()
        deadline = time.monotonic() + timeout
        while self._moves() == moved:
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"the clock did not move:\n{self.output()}")
            time.sleep(0.02)  # waits for the answer, not for time to pass

    def _moves(self) -> int:
        return sum(line.startswith(b"clock moved") for line in list(self._lines))

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no handler, no clean-up."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=20)

    def stop(self) -> None:
        stop_group(self.popen)


def _started(process: Process, up, what: str, timeout: float) -> None:
    """Waits until `up()` holds; stops the process and raises with its output if it exits
    or the time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if up():
                return
        except (httpx.TransportError, OSError):
            pass
        if process.popen.poll() is not None:
            break
        time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"{what} did not start:\n{process.output()}")


def start_api(env: dict[str, str], timeout: float = 60, clocked: bool = False) -> tuple[Process, str]:
    port = free_port()
    process = Process(["api", "--port", str(port)], env, clocked=clocked)
    base = f"http://127.0.0.1:{port}"
    _started(process, lambda: httpx.get(f"{base}/health/live", timeout=1).status_code == 200, "API", timeout)
    return process, base


def start_worker(env: dict[str, str]) -> Process:
    return Process(["worker"], env)


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def start_trust_services(env: dict[str, str], port: int, timeout: float = 60, clocked: bool = False) -> Process:
    """The development PKI's CRL, OCSP and TSA (`partner-platform trust-services`)."""
    process = Process(["trust-services"], env, clocked=clocked)
    _started(process, lambda: _listening(port), "trust services", timeout)
    return process


def start_dashboard(env: dict[str, str], clocked: bool = False, timeout: float = 60) -> tuple[Process, str]:
    """`streamlit run dashboard/server.py`, as `partner-platform dashboard` starts it."""
    from ops.cli import dashboard_command

    port = free_port()
    streamlit, *args = dashboard_command(port)[2:]  # after `python -m`
    process = Process(args, {"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env}, module=streamlit,
                      clocked=clocked)
    base = f"http://127.0.0.1:{port}"
    _started(process, lambda: httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok", "the dashboard", timeout)
    return process, base
