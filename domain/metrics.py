"""Prometheus metrics of the sealing path (S-10): how long each contract spends being
rendered, sealed and timestamped. The API serves them at /metrics, the worker on
WORKER_METRICS_PORT; bench/sign_throughput.py reads the split from there."""

from prometheus_client import Counter, Histogram

# 1 ms to 10 s: a render is tens of milliseconds, a TSA across a network can take seconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0)

RENDER_SECONDS = Histogram(
    "contract_render_seconds", "Typesetting a contract as PDF (wall clock).", buckets=_BUCKETS)
SEAL_SECONDS = Histogram(
    "contract_seal_seconds",
    "Sealing a rendered contract (PAdES signature, revocation data, DSS), without the "
    "time-stamping authority's round trip.", buckets=_BUCKETS)
TIMESTAMP_SECONDS = Histogram(
    "contract_timestamp_seconds", "Round trips to the time-stamping authority while sealing.",
    buckets=_BUCKETS)
SEALED = Counter("contracts_sealed", "Contracts sealed and committed SIGNED or ACTIVE.")
