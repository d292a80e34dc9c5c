"""Fixtures the API tests share."""

import asyncio

import pytest
import uvicorn

from gql_api.app import create_app
from tests.processes import free_port


@pytest.fixture
async def live(settings, database, redis):
    """The API under uvicorn in this process, so that a test can look at its subscribers."""
    app = create_app(settings, manage_orm=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_per_message_deflate=False))
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            await asyncio.sleep(0.01)
    yield app, f"127.0.0.1:{port}"
    server.should_exit = True
    await serving
