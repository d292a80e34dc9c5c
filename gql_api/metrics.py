"""/metrics: this API process's Prometheus metrics, for the operators' scraper. The sealing
path's own metrics are the worker's (WORKER_METRICS_PORT)."""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response


async def metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
