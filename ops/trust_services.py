"""`partner-platform trust-services`: the development PKI's CRL, OCSP responder and RFC 3161
time-stamping authority (certomancer, from DATA_DIR/signing/certomancer.yml) on
127.0.0.1:TRUST_SERVICES_PORT. `make run` and the tests start it; production points
TSA_URL at a real TSA, and its certificates at its CA's own CRL and OCSP."""

import contextlib
import logging
import socket
import time

from domain.documents.certificates import (
    ARCH,
    ensure_programme_certificate,
    load_pki,
    uses_development_pki,
)
from domain.settings import Settings

log = logging.getLogger("trust_services")


def app(settings: Settings):
    from certomancer.integrations.aiohttp_animator import build_animator_app
    from certomancer.registry import ArchLabel

    ensure_programme_certificate(settings)
    return build_animator_app({ArchLabel(ARCH): load_pki(settings)}, with_web_ui=False,
                              allow_time_override=False)


def serve(settings: Settings) -> None:
    from aiohttp import web

    log.info("trust services on 127.0.0.1:%s", settings.trust_services_port)
    web.run_app(app(settings), host="127.0.0.1", port=settings.trust_services_port, print=None,
                access_log=None)


@contextlib.asynccontextmanager
async def serving(settings: Settings):
    """The trust services inside this event loop while the block runs, unless they are
    already up (or the PKI is a real one): for `seed-demo`, which seals contracts itself."""
    from aiohttp import web

    if not uses_development_pki(settings) or settings.tsa_url or _listening(settings.trust_services_port):
        yield
        return
    runner = web.AppRunner(app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.trust_services_port).start()
    try:
        yield
    finally:
        await runner.cleanup()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_listening(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _listening(port):
            return True
        time.sleep(0.1)
    return False
