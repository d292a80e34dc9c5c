"""How the daily sweep's time grows with the number of due contracts, on PostgreSQL.

    .venv/bin/python bench/sweep.py [--sizes 10000 100000] [--server postgres://postgres@127.0.0.1:5432/test]

For each size it makes a fresh database, fills it with contracts in force of which three
in four are on their auto-renewal day and one in four past its last day (a missed
auto-renewal: the sweep catches up, renews and expires it), runs the sweep once, checks
what it did, and prints the time. The goal: the time at 100,000 within 12 times the time
at 10,000 (linear would be 10)."""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from tortoise import connections

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import drop_database, fresh_database  # noqa: E402
from domain import db  # noqa: E402
from domain.models import AuditEvent  # noqa: E402
from domain.services.sweep import run_daily_sweep  # noqa: E402
from domain.services.templates import install_bundled_templates  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.due_contracts import NOW, TODAY, make_due_contracts  # noqa: E402


async def measure(server: str, count: int) -> float:
    name = f"pc_bench_sweep_{os.getpid()}_{count}"
    settings = Settings(_env_file=None, database_url=await fresh_database(server, name),
                        data_dir=Path("/tmp") / name)
    try:
        await db.migrate(settings)
        await db.init(settings)
        await install_bundled_templates()
        await make_due_contracts(count, max(count // 10, 1))
        await connections.get("default").execute_script("VACUUM ANALYZE")
        started = time.perf_counter()
        result = await run_daily_sweep(TODAY, NOW, settings)
        elapsed = time.perf_counter() - started
        assert result.renewals_created == count, result
        assert result.expired == count // 4, result
        assert await AuditEvent.filter(action="CONTRACT_AUTO_RENEWED").count() == count
        again = time.perf_counter()
        second = await run_daily_sweep(TODAY, NOW, settings)
        idle = time.perf_counter() - again
        assert second.renewals_created == 0 and second.expired == 0, second
        print(f"{count:>8,} due contracts: sweep {elapsed:7.2f} s "
              f"({count / elapsed:8,.0f} contracts/s); second run (nothing to do) {idle:5.2f} s")
        return elapsed
    finally:
        await db.close()
        await drop_database(server, name)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"daily sweep on PostgreSQL, {os.cpu_count()} cores")
    times = {count: await measure(args.server, count) for count in args.sizes}
    if len(times) >= 2:
        small, large = min(times), max(times)
        ratio = times[large] / times[small]
        print(f"time ratio {large:,} / {small:,} = {ratio:.2f} (size ratio {large / small:.0f}; goal <= 12): "
              f"{'met' if ratio <= 12 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
