"""Tortoise configuration, one place for the API, the worker and the tools."""

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
        settings.data_dir.mkdir(parents=True, exist_ok=True)
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
