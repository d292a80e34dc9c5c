"""A real browser frontend on another origin (#14): headless Chromium loads a small static
page from http://127.0.0.1:<its own port>, which logs in with fetch, runs persisted queries
(Apollo's APQ protocol), subscribes with the npm graphql-ws client, signs, and sees
SIGNING, SIGNED, ACTIVE as a real worker seals the contract. The same page served from an
origin not in CORS_ORIGINS gets neither an answer to its fetch nor a WebSocket."""

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.gql import PASSWORD, approved_partner, login, make_manager
from tests.processes import environment, free_port, start_api, start_worker

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "tests" / "browser_frontend" / "index.html"
GRAPHQL_WS = ROOT / "tests" / "node" / "node_modules" / "graphql-ws" / "dist"
ARTIFACTS = ROOT / "test-artifacts" / "browser-frontend"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"]
PARTNER = "frontend@acme.example"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def static_sites(tmp_path):
    """The page and the graphql-ws ES modules, served from two origins of their own."""
    if not GRAPHQL_WS.is_dir():
        pytest.fail("the npm graphql-ws client is missing: npm ci --prefix tests/node")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(PAGE, site / "index.html")
    shutil.copytree(GRAPHQL_WS, site / "graphql-ws")
    servers = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()


@pytest.fixture
def platform(settings, static_sites, database, redis):
    listed, _ = static_sites
    api, base = start_api(environment(settings, CORS_ORIGINS=listed))
    worker = start_worker(environment(settings))
    yield base
    api.stop()
    worker.stop()


async def test_a_page_on_a_listed_origin_logs_in_runs_persisted_queries_and_sees_the_contract_go_active(
    platform, static_sites, client
):
    listed, unlisted = static_sites
    await make_manager()
    manager = await login(client, "manager@programme.example", PASSWORD)
    await approved_partner(client, manager, PARTNER)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            await page.goto(f"{listed}/index.html?api={platform}")
            await page.wait_for_function("document.title === 'ready'", timeout=10_000)
            result = await page.evaluate("([e, p]) => signAndWatch(e, p)", [PARTNER, PASSWORD])
            assert result["statuses"] == ["SIGNING", "SIGNED", "ACTIVE"], (result, console)
            assert result["foundByHash"] == 1
            log = await page.locator("#log li").all_inner_texts()
            assert log.count("persisted query registered") == 2 and "persisted query found by hash" in log
            await page.screenshot(path=ARTIFACTS / "listed-origin.png", full_page=True)

            other = await browser.new_page()
            await other.goto(f"{unlisted}/index.html?api={platform}")
            await other.wait_for_function("document.title === 'ready'", timeout=10_000)
            refused = await other.evaluate("tryFromHere()")
            assert refused == {"fetched": "refused: TypeError", "socket": "refused"}
        finally:
            await browser.close()
