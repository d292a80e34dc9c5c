"""The sealing path's Prometheus metrics: render, seal and timestamp seconds per contract,
served by the API at /metrics and by the worker on WORKER_METRICS_PORT."""

import httpx
from prometheus_client import REGISTRY

from tests.gql import manager_and_partner, sign_with_preview
from tests.partners import signable_partners
from tests.processes import environment, free_port, start_worker
from tests.workers.test_worker_crash import all_sealed, forget_jobs, job_ids, sign, until

NAMES = ("contract_render_seconds", "contract_seal_seconds", "contract_timestamp_seconds")


def counts() -> dict[str, float]:
    return {name: REGISTRY.get_sample_value(f"{name}_count") or 0.0 for name in NAMES} | {
        "sealed": REGISTRY.get_sample_value("contracts_sealed_total") or 0.0}


async def test_a_sealed_contract_is_counted_once_in_each_step(client, run_worker):
    _, token, _, contract_id = await manager_and_partner(client, "metrics@example.com")
    await sign_with_preview(client, token, contract_id, ["DE"])
    before = counts()
    sums = {name: REGISTRY.get_sample_value(f"{name}_sum") or 0.0 for name in NAMES}
    await run_worker()
    after = counts()
    assert {k: after[k] - before[k] for k in after} == dict.fromkeys(after, 1.0)
    for name in NAMES:
        assert (REGISTRY.get_sample_value(f"{name}_sum") or 0.0) > sums[name]

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert "contract_render_seconds_bucket" in scraped.text


async def test_the_worker_serves_its_metrics(settings, database, redis, client):
    fleet = await signable_partners(settings, 2, label="metered")
    port = free_port()
    worker = start_worker(environment(settings, WORKER_METRICS_PORT=str(port)))
    try:
        await sign(client, fleet)
        await until(all_sealed(fleet), 60, "sealed", worker)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        for name in NAMES:
            assert float(lines[f"{name}_count"]) == 2.0, name
        assert float(lines["contracts_sealed_total"]) == 2.0
    finally:
        worker.stop()
        await forget_jobs(redis, job_ids(fleet))
