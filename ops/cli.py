"""`partner-platform`: run, migrate, seed and check the platform."""

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from domain.settings import get_settings


def _migrate() -> None:
    from domain import db
    from domain.services.templates import install_bundled_templates

    settings = get_settings()

    async def run() -> None:
        await db.migrate(settings)
        await db.init(settings)
        try:
            await install_bundled_templates()
        finally:
            await db.close()

    asyncio.run(run())


def cmd_migrate(_: argparse.Namespace) -> None:
    """Apply migrations and install the bundled contract templates."""
    _migrate()
    print("database is up to date")


def cmd_seed_demo(_: argparse.Namespace) -> None:
    from ops.demo_data import PRODUCTION_REFUSAL, seed

    if get_settings().is_production:
        sys.exit(f"partner-platform seed-demo: {PRODUCTION_REFUSAL}")
    for line in asyncio.run(seed(get_settings())):
        print(line)


def _refuse_demo_logins(settings) -> None:
    """Production does not serve a database that holds the published demo logins."""
    from domain import db
    from ops import demo_data

    async def present() -> bool:
        await db.init(settings)
        try:
            return await demo_data.present()
        finally:
            await db.close()

    if asyncio.run(present()):
        sys.exit(f"The database holds the demo logins. {demo_data.PRODUCTION_REFUSAL}")


def cmd_create_admin(args: argparse.Namespace) -> None:
    """Create the first admin, and print a one-time link to set its password (S-29)."""
    from tortoise.exceptions import OperationalError

    from domain import clock, db
    from domain.errors import DomainError
    from domain.services.accounts import create_admin

    settings = get_settings()

    async def run() -> int:
        await db.init(settings)
        try:
            set_up = await create_admin(args.email, args.name, clock.now(), settings,
                                        another=args.another, new_link=args.new_link)
        except OperationalError as exc:
            print(f"The database is not set up ({exc}): run `partner-platform migrate` first.")
            return 2
        except DomainError as error:
            hint = {"another": " To add another admin, run again with --another."}.get(error.field or "", "")
            print(f"Nothing changed: {error.message}{hint}")
            return 1
        finally:
            await db.close()
        user = set_up.user
        if set_up.created:
            print(f"Created the admin {user.name} <{user.email}>.")
        elif set_up.link is None:
            state = "has set a password" if user.password_hash else "has not set a password yet"
            print(f"The admin {user.email} exists already ({state}); nothing changed.")
            if not user.password_hash:
                print("Run again with --new-link for a new set-password link.")
            return 0
        print("Open this link once to set the password; it works until "
              f"{set_up.link.expires_at.astimezone(settings.tz):%Y-%m-%d %H:%M} ({settings.timezone}):")
        print(f"  {set_up.link.url}")
        return 0

    sys.exit(asyncio.run(run()))


def cmd_publish_template(args: argparse.Namespace) -> None:
    """Publish a contract template version from a text file; unsigned contracts move to it."""
    from domain import clock, db
    from domain.actors import system
    from domain.errors import DomainError
    from domain.services import templates

    settings = get_settings()
    body = Path(args.file).read_text(encoding="utf-8")
    actor = system(request_id="cli:publish-template")

    async def run() -> int:
        await db.init(settings)
        try:
            if args.dry_run:
                shown = await templates.draft(actor, args.title, body, clock.now(), settings)
            else:
                published = await templates.publish_template(actor, args.title, body, clock.now(), settings)
                shown = published.draft
        except DomainError as error:
            print(f"Nothing published: {error.message}")
            return 1
        finally:
            await db.close()
        print(f"Changes from version {shown.current.version}:\n{shown.diff}")
        print(f"Rendered for a sample partner:\n\n{shown.preview}\n")
        if args.dry_run:
            print(f"Dry run: version {shown.version} was not published; "
                  f"{shown.unsigned_contracts} unsigned contract(s) would move to it.")
        else:
            print(f"Published version {published.template.version} ({published.template.title}); "
                  f"{published.contracts_moved} unsigned contract(s) moved to it.")
        return 0

    sys.exit(asyncio.run(run()))


def cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    from domain import logs

    settings = get_settings()
    if settings.is_production:
        _refuse_demo_logins(settings)
    # No per-message deflate: status messages are a few hundred bytes, and compressing each
    # one for each subscriber cost more CPU than anything else in the fan-out. A WebSocket
    # message has the same size cap as a request body. No `server: uvicorn` banner.
    # X-Forwarded-For only from TRUSTED_PROXIES: uvicorn's default believes any loopback
    # peer, so anything on the machine could spoof a client address.
    # Slow and too many clients (#14): at most API_LIMIT_CONCURRENCY connections and
    # tasks at once (503 beyond, rather than memory without end); a request's headers
    # within API_HEADER_SECONDS (gql_api.server.DeadlineProtocol, which uvicorn lacks), its
    # body within API_BODY_SECONDS (BodyLimit, 408); an idle kept-alive connection closed
    # after API_KEEP_ALIVE_SECONDS; a WebSocket that answers no ping within 20 s closed;
    # at shutdown, open requests get 10 s.
    from gql_api.server import DeadlineProtocol

    uvicorn.run("gql_api.app:app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=logs.configure(), ws_per_message_deflate=False,
                ws_max_size=settings.max_body_bytes, server_header=False,
                proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=settings.trusted_proxies or None,
                http=DeadlineProtocol, limit_concurrency=settings.api_limit_concurrency,
                timeout_keep_alive=settings.api_keep_alive_seconds,
                ws_ping_interval=20.0, ws_ping_timeout=20.0, timeout_graceful_shutdown=10)


def cmd_worker(_: argparse.Namespace) -> None:
    """Run the arq worker. arq's loop ends when Redis goes away, so it is started again,
    with a growing pause, until Redis is back; its jobs are idempotent."""
    import logging

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from domain import db, logs
    from workers.main import run_worker
    from workers.queue import redis_settings

    logs.configure()
    log = logging.getLogger("workers")
    delay = 0.5
    while True:
        try:
            run_worker(redis_settings(get_settings()))
            return  # stopped by a signal
        except (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError) as exc:
            log.warning("worker lost Redis (%r); starting again in %.1f s", exc, delay)
            asyncio.run(db.close())  # arq skipped on_shutdown: let the next start set up the ORM
            time.sleep(delay)
            delay = min(delay * 2, 10)


def _port_or_free(port: int) -> int:
    """`port` if nothing listens on it, or else any free one."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dashboard_command(port: int) -> list[str]:
    """`streamlit run` for the channel managers' dashboard (dashboard/server.py: the pages of
    dashboard/app.py and the dashboard's own routes, installed beside this package)."""
    app = Path(__file__).resolve().parents[1] / "dashboard" / "server.py"
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--client.toolbarMode", "minimal", "--browser.gatherUsageStats", "false"]


def cmd_trust_services(_: argparse.Namespace) -> None:
    """Serve the development PKI's CRL, OCSP and time-stamping authority (certomancer)."""
    from domain import logs
    from ops.trust_services import serve

    logs.configure()
    serve(get_settings())


def cmd_worker_health(_: argparse.Namespace) -> None:
    """Exit 0 when a worker has reported in within its health-check interval, else 1."""
    from arq.worker import async_check_health

    from workers.queue import redis_settings

    settings = get_settings()
    sys.exit(asyncio.run(async_check_health(redis_settings(settings), queue_name=settings.queue_name)))


def cmd_run(args: argparse.Namespace) -> None:
    """Everything on one machine: migrate, demo data, Redis (embedded unless REDIS_URL),
    the API, the worker and the managers' dashboard. Ctrl-C stops it all."""
    from domain.documents.certificates import ensure_programme_certificate, uses_development_pki
    from domain.documents.fonts import check_fonts
    from ops import trust_services
    from ops.demo_data import PRODUCTION_REFUSAL, seed
    from workers.queue import redis_url

    if get_settings().is_production:
        sys.exit(f"partner-platform run: seeds the demo data, so it does not run in production. "
                 f"{PRODUCTION_REFUSAL} Start `migrate`, `api` and `worker` instead.")
    # Set first: a stop that arrives while things start still stops the children and the
    # embedded Redis, which the default SIGTERM action would leave running.
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings = get_settings()
    check_fonts(settings)  # before anything starts: no fonts, no signed contracts
    ensure_programme_certificate(settings)
    python = sys.executable
    children = []
    if uses_development_pki(settings) and not settings.tsa_url:
        # The development PKI's TSA, CRL and OCSP, which every seal needs (B-LT).
        children.append(subprocess.Popen([python, "-m", "ops.cli", "trust-services"]))
        if not trust_services.wait_listening(settings.trust_services_port):
            children[0].terminate()
            sys.exit(f"trust services did not start on port {settings.trust_services_port}")
    _migrate()
    logins = asyncio.run(seed(settings))
    if stop:
        for child in children:
            child.terminate()
        return
    env = {**os.environ, "REDIS_URL": redis_url(settings)}  # children share this Redis
    base = f"http://127.0.0.1:{args.port}"
    dashboard_env = {**env, "DASHBOARD_API_URL": base}
    if settings.redis_url:
        # A Redis of the operator's: the dashboard keeps its sign-ins there, encrypted with
        # DASHBOARD_SECRET (which the API shares): one for this run when none is set.
        env.setdefault("DASHBOARD_SECRET", secrets.token_urlsafe(32))
        dashboard_env["DASHBOARD_SECRET"] = env["DASHBOARD_SECRET"]
    else:
        # The embedded one lives only as long as this run, and stops only when no one else
        # is connected: the dashboard keeps its sign-ins in memory instead.
        del dashboard_env["REDIS_URL"]
    dashboard_port = _port_or_free(args.dashboard_port)
    commands = [
        ([python, "-m", "ops.cli", "api", "--port", str(args.port)], env),
        ([python, "-m", "ops.cli", "worker"], env),
        (dashboard_command(dashboard_port), dashboard_env),
    ]
    children += [subprocess.Popen(command, env=child_env) for command, child_env in commands]
    time.sleep(2)
    print(f"\nAPI and GraphiQL: {base}/graphql")
    print(f"Dashboard:        http://127.0.0.1:{dashboard_port} (channel managers and admin)")
    print(f"Health:           {base}/health/ready")
    print(f"Database:         {settings.db_url}")
    print(f"Redis:            {env['REDIS_URL']}")
    mail = (settings.smtp_url.rpartition("@")[2]  # the server, never its credentials
            if settings.smtp_url else f"{settings.maildir_path} (a Maildir: mutt -f {settings.maildir_path})")
    print(f"Emails:           {mail}")
    print("\nDemo logins:")
    for line in logins:
        print(f"  {line}")
    print("\nCtrl-C stops everything.")
    while not stop and all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=15)


def cmd_verify_document(args: argparse.Namespace) -> None:
    """Check a signed PDF: the seal against the programme's and the TSA's roots, the PAdES
    level it reaches, its timestamp, whether it validates offline, and the hash on record."""
    from domain import db
    from domain.documents import storage
    from domain.documents.verification import check_pdf
    from domain.models import Contract

    settings = get_settings()

    async def run() -> int:
        path = Path(args.target)
        if path.exists():
            data, expected = path.read_bytes(), None
        else:
            await db.init(settings)
            try:
                contract = await Contract.get_or_none(id=args.target)
                expected = contract.document_id if contract else None  # type: ignore[attr-defined]
                data = await storage.read(expected, settings) if expected else b""
            finally:
                await db.close()
            if not expected:
                print(f"no signed document for {args.target}")
                return 2
        check = await check_pdf(data, expected, settings, online=args.online)
        for name, value in vars(check).items():
            if name in ("revoked_now", "revoked_since") and not args.online:
                continue
            print(f"{name:20} {value}")
        print(f"{'valid':20} {check.valid}")
        return 0 if check.valid else 1

    sys.exit(asyncio.run(run()))


def cmd_documents_to_database(_: argparse.Namespace) -> None:
    """Move sealed PDFs kept as files (DOCUMENTS_DIR) into the database, checking each
    file's SHA-256 and size against its record; exit 1 if any is missing or altered."""
    from domain import db
    from domain.documents.storage import move_files_to_database

    settings = get_settings()

    async def run() -> int:
        await db.init(settings)
        try:
            result = await move_files_to_database(settings)
        finally:
            await db.close()
        print(f"moved {result.moved} documents into the database; {result.already} were there already")
        for digest in result.missing or []:
            print(f"MISSING  {digest}: no file under {settings.documents_path}")
        for digest in result.mismatched or []:
            print(f"ALTERED  {digest}: the file's SHA-256 or size is not its record's; not moved")
        return 1 if result.missing or result.mismatched else 0

    sys.exit(asyncio.run(run()))


def cmd_sweep(args: argparse.Namespace) -> None:
    """Run the daily sweep for a date (default: today), as the worker's daily_sweep does."""
    from datetime import date

    from domain import clock, db, events
    from domain.lifecycle import business_date
    from domain.services.sweep import run_daily_sweep
    from workers.queue import connect, reactions

    settings = get_settings()
    today = date.fromisoformat(args.today) if args.today else business_date(clock.now(), settings.tz)

    async def run() -> None:
        await db.init(settings)
        pool = await connect(settings)
        events.configure(*reactions(pool, settings))  # the renewals it signs get sealed
        try:
            result = await run_daily_sweep(today, clock.now(), settings)
        finally:
            events.configure()
            await pool.aclose()
            await db.close()
        print(f"sweep for {today}: {vars(result)}")

    asyncio.run(run())


def cmd_verify_audit(_: argparse.Namespace) -> None:
    """Walk the audit log's hash chain and check its seals; report the first break (exit 1)."""
    from domain import audit_chain, db

    settings = get_settings()

    async def run() -> int:
        await db.init(settings)
        try:
            verdict = await audit_chain.verify(settings)
        finally:
            await db.close()
        waiting = f"; {verdict.pending} newer events wait to be chained" if verdict.pending else ""
        if verdict.intact:
            print(f"audit chain intact: {verdict.checked} events checked, "
                  f"sealed up to link {verdict.sealed_to}{waiting}")
            return 0
        where = f" at event {verdict.broken_at}" if verdict.broken_at else ""
        print(f"audit chain BROKEN{where}: {verdict.reason} "
              f"({verdict.checked} events before it are intact)")
        return 1

    sys.exit(asyncio.run(run()))


def cmd_trusted_documents(args: argparse.Namespace) -> None:
    """Write a trusted documents manifest (for TRUSTED_DOCUMENTS): the dashboard's
    operations, and those of the given frontends' manifests or .graphql files."""
    import json

    from graphql import parse

    from dashboard import queries
    from gql_api.documents import load_manifest, manifest_of

    documents = [value for value in vars(queries).values() if isinstance(value, str)
                 and value.lstrip().startswith(("query", "mutation", "subscription"))]
    for name in args.include:
        path = Path(name)
        documents += list(load_manifest(path).values()) if path.suffix == ".json" else [path.read_text()]
    for document in documents:
        parse(document)  # a typo fails here, not in production
    manifest = manifest_of(sorted(set(documents)))
    Path(args.output).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(manifest['operations'])} operations written to {args.output}")


def cmd_export_schema(args: argparse.Namespace) -> None:
    from gql_api.schema import schema

    Path(args.output).write_text(schema.as_str() + "\n")
    print(f"wrote {args.output}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="partner-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(fn=cmd_migrate)
    sub.add_parser("seed-demo", help="Add demo managers, partners and contracts.").set_defaults(fn=cmd_seed_demo)
    admin = sub.add_parser("create-admin", help=cmd_create_admin.__doc__)
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--another", action="store_true",
                       help="add an admin although one exists already")
    admin.add_argument("--new-link", action="store_true",
                       help="a fresh set-password link for this admin, if it has no password yet")
    admin.set_defaults(fn=cmd_create_admin)
    publish = sub.add_parser("publish-template", help=cmd_publish_template.__doc__)
    publish.add_argument("file", help="the template text, with $placeholders")
    publish.add_argument("--title", required=True)
    publish.add_argument("--dry-run", action="store_true", help="show the diff and the preview only")
    publish.set_defaults(fn=cmd_publish_template)
    api = sub.add_parser("api", help="Serve the GraphQL API.")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(fn=cmd_api)
    sub.add_parser("worker", help="Run the arq worker.").set_defaults(fn=cmd_worker)
    sub.add_parser("worker-health", help=cmd_worker_health.__doc__).set_defaults(fn=cmd_worker_health)
    sub.add_parser("trust-services", help=cmd_trust_services.__doc__).set_defaults(fn=cmd_trust_services)
    run = sub.add_parser("run", help=cmd_run.__doc__)
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--dashboard-port", type=int, default=8501)
    run.set_defaults(fn=cmd_run)
    verify = sub.add_parser("verify-document", help=cmd_verify_document.__doc__)
    verify.add_argument("target", help="a contract id, or a path to a PDF")
    verify.add_argument("--online", action="store_true",
                        help="also ask the CA (CRL, OCSP) whether the sealing certificate is revoked now")
    verify.set_defaults(fn=cmd_verify_document)
    sub.add_parser("documents-to-database", help=cmd_documents_to_database.__doc__).set_defaults(
        fn=cmd_documents_to_database)
    sweep = sub.add_parser("sweep", help=cmd_sweep.__doc__)
    sweep.add_argument("--today", help="YYYY-MM-DD; the business date to sweep for")
    sweep.set_defaults(fn=cmd_sweep)
    sub.add_parser("verify-audit", help=cmd_verify_audit.__doc__).set_defaults(fn=cmd_verify_audit)
    trusted = sub.add_parser("trusted-documents", help=cmd_trusted_documents.__doc__)
    trusted.add_argument("--output", default="trusted-documents.json")
    trusted.add_argument("include", nargs="*", help="a frontend's manifest (.json) or operation (.graphql)")
    trusted.set_defaults(fn=cmd_trusted_documents)
    export = sub.add_parser("export-schema", help="Write the GraphQL schema (SDL).")
    export.add_argument("--output", default="schema.graphql")
    export.set_defaults(fn=cmd_export_schema)
    args = parser.parse_args(argv)
    try:  # refused settings (a weak TOKEN_SECRET in production) stop every command at once
        get_settings()
    except ValidationError as error:
        problems = "\n".join(f"  {e['msg'].removeprefix('Value error, ')}" for e in error.errors())
        sys.exit(f"partner-platform: the settings are not usable:\n{problems}")
    if args.fn not in (cmd_export_schema, cmd_trusted_documents):  # which write files to share
        # Whatever the platform writes, the database, keys, documents and the token
        # secret, only its own user may read: directories 0700, files 0600.
        os.umask(0o077)
    args.fn(args)


if __name__ == "__main__":
    main()
