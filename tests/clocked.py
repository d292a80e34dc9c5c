"""A programme process on a clock the test moves, as the in-process tests move theirs with
time-machine, and never sleeps for:

    python -m tests.clocked ops.cli api --port 8001
    python -m tests.clocked streamlit run dashboard/server.py …

runs the module as `python -m` would. Each line the test writes to the process's standard
input is a number of seconds: the process's clock moves on by that much (and keeps
ticking), and the process prints "clock moved" once it has (tests/processes.py,
Process.move_clock)."""

import runpy
import sys
import threading
from datetime import UTC, datetime, timedelta

import time_machine


def listen() -> None:
    moved = None
    for line in sys.stdin:
        seconds = float(line)
        if moved is None:
            moved = time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=True).start()
        else:
            moved.shift(timedelta(seconds=seconds))
        print("clock moved", flush=True)


if __name__ == "__main__":
    module, *args = sys.argv[1:]
    threading.Thread(target=listen, daemon=True, name="clock").start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
