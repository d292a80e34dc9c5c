"""The dashboard against a real API process on the test run's database."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from domain.models import User
from tests.gql import make_manager, token_for
from tests.processes import environment, start_api

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="session")
def api(settings) -> str:
    """A real API process (uvicorn) for the whole run; tests share its database."""
    process, base = start_api(environment(settings))
    yield base
    process.stop()


@pytest.fixture
def app(api, monkeypatch):
    """A fresh dashboard session (AppTest) pointed at the API."""
    monkeypatch.setenv("DASHBOARD_API_URL", api)
    monkeypatch.setenv("DASHBOARD_REFRESH_SECONDS", "600")

    def make() -> AppTest:
        return AppTest.from_file(str(APP), default_timeout=30)

    return make


@pytest.fixture
async def manager(database) -> User:
    return await make_manager("manager@programme.example")


async def signed_in_as(app, settings, email: str) -> AppTest:
    """A dashboard session already signed in as `email`: the token login would return,
    without argon2's cost (the sign-in form itself is tested in test_sign_in)."""
    user = await User.get(email=email)
    at = app()
    at.session_state["token"] = await token_for(settings, email)
    at.session_state["expires_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    at.session_state["viewer"] = {"id": str(user.id), "name": user.name, "email": user.email, "role": user.role.value}
    return at.run()
