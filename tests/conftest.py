"""Shared fixtures: a real PostgreSQL database and a real Redis, made fresh for each run.

TEST_DATABASE_URL names the server (its database is only used to create ours) and
TEST_REDIS_URL the Redis; both default to the local services."""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from arq import ArqRedis
from arq.worker import Worker
from tortoise.contrib.test import truncate_all_models

from domain import db
from domain.documents.certificates import ensure_programme_certificate
from domain.services.templates import install_bundled_templates
from domain.settings import Settings
from gql_api.app import create_app
from tests.processes import environment, free_port, start_trust_services
from workers import queue
from workers.main import WorkerSettings

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


def database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_database(name: str) -> str:
    conn = await asyncpg.connect(SERVER_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def settings(tmp_path_factory) -> Settings:
    name = f"pc_test_{RUN_ID}"
    url = await create_database(name)
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
    await drop_database(name)


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
    async for key in pool.scan_iter(match=f"{settings.queue_name}:login-failures:*"):
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
        await worker.main()
        return worker

    return run
