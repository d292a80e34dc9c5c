import pytest

from workers import jobs


@pytest.fixture
async def worker(settings, redis, database):
    """Starts worker contexts, as `startup` makes them, on a settings copy that mails to the
    test's SMTP server (or the Maildir, with none) and may call a loopback receiver; shuts
    each down at the end, which closes its mailer and webhook client."""

    async def start(smtp_port: int | None = None, **overrides) -> dict:
        ctx = {"settings": settings.model_copy(update={
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}?starttls=off" if smtp_port else "",
            "webhooks_allow_loopback": True, **overrides,
        }), "redis": redis, "orm_ready": True}
        await jobs.startup(ctx)
        made.append(ctx)
        return ctx

    made: list[dict] = []
    yield start
    for ctx in made:
        await jobs.shutdown(ctx)
