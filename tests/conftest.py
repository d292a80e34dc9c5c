"""Shared fixtures: a real PostgreSQL database and a real Redis, made fresh for each run.

TEST_DATABASE_URL names the server (its database is only used to create ours) and
TEST_REDIS_URL the Redis; both default to the local services."""

import asyncio
import os
import uuid

import httpx
import pytest
from arq import ArqRedis
from arq.utils import timestamp_ms
from arq.worker import Worker
from tortoise.contrib.test import truncate_all_models

from domain import db
from domain.documents.certificates import ensure_programme_certificate
from domain.services.templates import install_bundled_templates
from domain.settings import Settings
from gql_api.app import create_app
from tests.databases import drop_database, fresh_database
from tests.processes import environment, free_port, start_trust_services
from workers import queue
from workers.main import WorkerSettings

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture
async def empty_database() -> str:
    """The URL of a new, empty PostgreSQL database of its own, dropped afterwards."""
    name = f"pc_empty_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    yield await fresh_database(SERVER_URL, name)
    await drop_database(SERVER_URL, name)


@pytest.fixture(scope="session")
async def settings(tmp_path_factory) -> Settings:
    name = f"pc_test_{RUN_ID}"
    url = await fresh_database(SERVER_URL, name)
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=url,
        redis_url=REDIS_URL,
        queue_name=f"arq:test:{RUN_ID}",
        events_channel=f"events:test:{RUN_ID}",  # Redis may be shared with other runs
        trust_services_port=free_port(),
        overview_cache_seconds=0,  # figures as they are now; test_overview_cache turns it on
    )
    ensure_programme_certificate(settings)
    # The seal's TSA, CRL and OCSP: certomancer, as `make run` starts it.
    trust = start_trust_services(environment(settings), settings.trust_services_port)
    await db.migrate(settings)
    await db.init(settings)
    yield settings
    await db.close()
    trust.stop()
    await drop_database(SERVER_URL, name)


def sharing_pki(settings: Settings, data_dir) -> Settings:
    """Settings with their own data directory that seal with the test run's PKI, TSA and
    revocation services."""
    return Settings(
        _env_file=None, data_dir=data_dir, signing_key_path=settings.key_path,
        signing_cert_path=settings.cert_path, signing_ca_path=settings.ca_path,
        tsa_ca_path=settings.tsa_root_path, trust_services_port=settings.trust_services_port,
    )


@pytest.fixture
async def database(settings):
    """An empty database (but for the bundled templates) for each test that asks."""
    await truncate_all_models()
    await install_bundled_templates()
    yield


@pytest.fixture
async def redis(settings) -> ArqRedis:
    pool = await queue.connect(settings)
    # This run's own queue only: Redis may be shared with other runs. Job ids name a
    # contract id, so no other test's jobs can collide with ours.
    await pool.delete(settings.queue_name)
    for counts in ("login-failures", "login-known", "registrations"):  # gql_api/throttle.py
        async for key in pool.scan_iter(match=f"{settings.queue_name}:{counts}:*"):
            await pool.delete(key)
    yield pool
    await pool.aclose()


@pytest.fixture
async def client(settings, database, redis) -> httpx.AsyncClient:
    app = create_app(settings, manage_orm=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
def run_worker(settings, redis):
    """Run the real arq worker until the queue is empty."""

    async def run(**ctx) -> Worker:
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_pool=redis,
            queue_name=settings.queue_name,
            burst=True,
            poll_delay=0,
            handle_signals=False,
            max_tries=WorkerSettings.max_tries,
            on_startup=WorkerSettings.on_startup,
            on_shutdown=WorkerSettings.on_shutdown,
            ctx={"settings": settings, "orm_ready": True, **ctx},
        )
        main = asyncio.ensure_future(worker.main())
        try:
            await _until_done_or_stuck(main, worker, redis, settings.queue_name)
        finally:
            if "mailer" in worker.ctx:  # started: close what startup opened (arq's close()
                await WorkerSettings.on_shutdown(worker.ctx)  # would close our Redis pool too)
        return worker

    return run


async def _until_done_or_stuck(main: asyncio.Future, worker: Worker, redis: ArqRedis, queue_name: str) -> None:
    """A burst worker stops when the queue is empty. A job deferred (a retry) while
    time-machine holds the clock still never comes due, and the burst would poll for ever:
    fail the test instead, naming the job."""
    still_since = None
    while True:
        done, _ = await asyncio.wait({main}, timeout=0.5)
        if done:
            return main.result()
        now = timestamp_ms()
        idle = all(task.done() for task in worker.tasks.values())
        waiting = await redis.zrangebyscore(queue_name, "-inf", "+inf", withscores=True)
        if not (idle and waiting and all(score > now for _, score in waiting)):
            still_since = None
            continue
        if still_since is None or now != still_since:  # the clock moves: the job comes due
            still_since = now
            continue
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)
        jobs = ", ".join(f"{job_id.decode() if isinstance(job_id, bytes) else job_id} at {score:.0f}"
                         for job_id, score in waiting)
        raise AssertionError(
            f"the worker deferred jobs past a frozen clock ({now}): {jobs}. A job retried "
            f"(retries: {worker.jobs_retried}); its error is in the log above."
        )
