"""The dashboard with sessions that end (S-28): a manager with a second factor signs in with
the code, a token about to expire is renewed with the refresh token, a revoked session
returns to the sign-in page, and signing out ends the session at the API too."""

from datetime import UTC, datetime, timedelta

import pyotp

from domain import clock
from domain.models import RefreshToken, Session, User
from domain.services import sessions
from tests.gql import PASSWORD

MANAGER = "manager@programme.example"


def texts(elements) -> list[str]:
    return [element.value for element in elements]


async def signed_in_with_refresh(app, settings, expires_in: timedelta):
    user = await User.get(email=MANAGER)
    tokens = await sessions.start(user, clock.now(), settings)
    at = app()
    at.session_state["token"] = tokens.access_token
    at.session_state["expires_at"] = (datetime.now(UTC) + expires_in).isoformat()
    at.session_state["refresh_token"] = tokens.refresh_token
    at.session_state["viewer"] = {"id": str(user.id), "name": user.name, "email": user.email, "role": user.role.value}
    return at, tokens


async def test_a_manager_with_a_second_factor_is_asked_for_the_code(app, manager):
    secret = pyotp.random_base32()
    await User.filter(id=manager.id).update(totp_secret=secret, totp_enabled_at=clock.now())
    at = app().run()
    assert not [t for t in at.text_input if t.key == "sign-in-code"]
    at.text_input(key="sign-in-email").input(MANAGER)
    at.text_input(key="sign-in-password").input(PASSWORD)
    at.button(key="sign-in-submit").click().run()

    assert "two steps" in texts(at.info)[0]
    at.text_input(key="sign-in-code").input("000000")
    at.button(key="sign-in-submit").click().run()
    assert "not correct" in at.error[0].value
    at.text_input(key="sign-in-code").input(pyotp.TOTP(secret).now())
    at.button(key="sign-in-submit").click().run()
    assert texts(at.title) == ["Review queue"]
    assert not at.exception


async def test_a_token_about_to_expire_is_renewed_and_the_old_refresh_token_is_used_up(app, settings, manager):
    at, tokens = await signed_in_with_refresh(app, settings, timedelta(seconds=30))
    at.run()
    assert texts(at.title) == ["Review queue"]
    assert at.session_state["refresh_token"] != tokens.refresh_token
    rotated = await RefreshToken.filter(family_id=tokens.session_id).order_by("created_at")
    assert len(rotated) == 2 and rotated[0].used_at is not None and rotated[1].used_at is None
    assert datetime.fromisoformat(at.session_state["expires_at"]) > datetime.now(UTC) + timedelta(minutes=10)
    assert not at.exception


async def test_a_revoked_session_returns_to_the_sign_in_page(app, settings, manager):
    at, tokens = await signed_in_with_refresh(app, settings, timedelta(minutes=10))
    await Session.filter(id=tokens.session_id).update(revoked_at=clock.now(), revoked_reason="LOGGED_OUT")
    at.run()
    assert texts(at.title) == ["Channel managers' dashboard"]
    assert "Sign in again" in texts(at.info)[0]
    assert not at.exception


async def test_signing_out_ends_the_session_at_the_api(app, settings, manager):
    at, tokens = await signed_in_with_refresh(app, settings, timedelta(minutes=10))
    at.run()
    at.button(key="sign-out").click().run()
    assert texts(at.info) == ["You signed out."]
    assert (await Session.get(id=tokens.session_id)).revoked_reason == "LOGGED_OUT"

