"""Tortoise configuration, one place for the API, the worker and the tools."""

from pathlib import Path

from tortoise import Tortoise, connections

from domain.settings import Settings, get_settings

MODELS = ["domain.models"]


def tortoise_config(settings: Settings) -> dict:
    return {
        "connections": {"default": settings.db_url},
        "apps": {"models": {"models": MODELS, "migrations": "migrations", "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by the `tortoise` command line ([tool.tortoise] in pyproject.toml).
TORTOISE_ORM = tortoise_config(get_settings())


async def migrate(settings: Settings) -> None:
    from tortoise.migrations.api import migrate as run_migrations

    if settings.db_url.startswith("sqlite://"):
        # The database is the owner's alone, whatever the umask: its directory 0700, its
        # file 0600 (SQLite gives its journal files the database file's mode).
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)
        database = Path(settings.db_url.removeprefix("sqlite://"))
        if database.name != ":memory:":
            database.touch(mode=0o600)
            database.chmod(0o600)
    await run_migrations(config=tortoise_config(settings))
    await Tortoise.close_connections()


async def init(settings: Settings) -> None:
    # Requests run in other tasks than the one that set up the ORM.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


def dialect() -> str:
    """"postgres" or "sqlite": where the two need different SQL."""
    return connections.get("default").capabilities.dialect


async def ping() -> None:
    """One round trip; raises when the database cannot be reached."""
    await connections.get("default").execute_query("SELECT 1")
