"""How the daily sweep's time grows with the number of due contracts, on PostgreSQL.

    .venv/bin/python -m bench.sweep [--sizes 10000 100000] [--server postgres://postgres@127.0.0.1:5432/test]

For each size it makes a fresh database, fills it with contracts in force of which three
in four are on their auto-renewal day and one in four past its last day (a missed
auto-renewal: the sweep catches up, renews and expires it), runs the sweep once, checks
what it did, and prints the time. The goal: the time at 100,000 within 12 times the time
at 10,000 (linear would be 10)."""

import asyncio
import os
import time

from tortoise import connections

from bench.common import arguments, migrated_database
from domain.models import AuditEvent
from domain.services.sweep import run_daily_sweep
from tests.due_contracts import NOW, TODAY, make_due_contracts


async def measure(server: str, count: int) -> float:
    async with migrated_database(server, f"pc_bench_sweep_{os.getpid()}_{count}") as settings:
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


async def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
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
