"""Sessions that end (S-28, #14 finding 4), over HTTP: short access tokens, refresh-token
rotation and reuse, logout, password change and reset, and the second factor."""

from datetime import datetime, timedelta
from email.message import Message

import pyotp
import time_machine

from domain import audit_chain, clock, events
from domain.models import AuditEvent, Notification, PasswordLink, RefreshToken, Role, Session, User
from domain.notifications.sending import send_emails
from tests.gql import (
    CONTRACTS,
    PASSWORD,
    REJECT,
    SET_PASSWORD,
    approved_partner,
    gql,
    login,
    make_manager,
    post,
    register,
)
from workers import queue

MANAGER = "manager@programme.example"
VIEWER = "query { viewer { id email secondFactorEnabled } }"
LOGIN = """
mutation ($email: String!, $password: String!, $code: String) {
  login(email: $email, password: $password, code: $code) {
    __typename
    ... on LoginSuccess { token expiresAt refreshToken refreshExpiresAt viewer { id } }
    ... on OperationError { code message field }
  }
}
"""
REFRESH = """
mutation ($r: String!) { refreshSession(refreshToken: $r) {
  __typename
  ... on LoginSuccess { token expiresAt refreshToken viewer { id } }
  ... on OperationError { code message field } } }
"""
LOGOUT = """
mutation ($everywhere: Boolean! = false) { logout(everywhere: $everywhere) {
  __typename ... on LogoutSuccess { sessionsEnded } ... on OperationError { code message field } } }
"""
CHANGE = """
mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) {
  __typename ... on ChangePasswordSuccess { viewer { id } } ... on OperationError { code message field } } }
"""
RESET = """
mutation ($e: String!) { requestPasswordReset(email: $e) {
  __typename ... on RequestPasswordResetSuccess { message } ... on OperationError { code message field } } }
"""
ENROLL = """
mutation { enrollSecondFactor { __typename ... on EnrollSecondFactorSuccess { secret otpauthUri }
  ... on OperationError { code message field } } }
"""
CONFIRM = """
mutation ($c: String!) { confirmSecondFactor(code: $c) { __typename
  ... on ConfirmSecondFactorSuccess { recoveryCodes viewer { secondFactorEnabled } }
  ... on OperationError { code message field } } }
"""
DISABLE = """
mutation ($c: String!) { disableSecondFactor(code: $c) { __typename
  ... on DisableSecondFactorSuccess { viewer { secondFactorEnabled } }
  ... on OperationError { code message field } } }
"""
NEW_PASSWORD = "a-completely-new-passphrase"


async def session(client, email: str = MANAGER, password: str = PASSWORD, code: str | None = None) -> dict:
    result = (await gql(client, LOGIN, {"email": email, "password": password, "code": code}))["login"]
    assert result["__typename"] == "LoginSuccess", result
    return result


async def session_aged(client, age: timedelta) -> tuple[dict, time_machine.travel]:
    """A manager's session started now, and the clock a second past `age` later, to enter."""
    await make_manager()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        got = await session(client)
    return got, time_machine.travel(start + age + timedelta(seconds=1), tick=False)


async def refused_with(client, token: str, query: str = VIEWER) -> str:
    body = await post(client, query, token=token)
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def test_an_access_token_lives_minutes_and_comes_with_a_refresh_token(client, settings):
    await make_manager()
    now = clock.now()
    with time_machine.travel(now, tick=False):
        got = await session(client)
    assert datetime.fromisoformat(got["expiresAt"]) - now == timedelta(minutes=15) == timedelta(
        minutes=settings.token_ttl_minutes)
    assert len(got["refreshToken"]) >= 40
    # Only the refresh token's hash is stored.
    assert not await RefreshToken.filter(token_hash=got["refreshToken"]).exists()
    assert await RefreshToken.all().count() == 1


async def test_an_expired_token_is_told_to_refresh_and_refreshing_works(client, settings):
    got, later = await session_aged(client, timedelta(minutes=settings.token_ttl_minutes))
    with later:
        assert await refused_with(client, got["token"]) == "TOKEN_EXPIRED"
        assert await refused_with(client, got["token"], CONTRACTS) == "TOKEN_EXPIRED"
        fresh = (await gql(client, REFRESH, {"r": got["refreshToken"]}))["refreshSession"]
        assert fresh["__typename"] == "LoginSuccess", fresh
        assert (await gql(client, VIEWER, token=fresh["token"]))["viewer"]["email"] == MANAGER


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_whole_family(client):
    await make_manager()
    first = await session(client)
    other = await session(client)  # another device: another family
    second = (await gql(client, REFRESH, {"r": first["refreshToken"]}))["refreshSession"]
    third = (await gql(client, REFRESH, {"r": second["refreshToken"]}))["refreshSession"]
    assert third["__typename"] == "LoginSuccess"
    assert len({first["refreshToken"], second["refreshToken"], third["refreshToken"]}) == 3
    assert (await gql(client, VIEWER, token=third["token"]))["viewer"]["email"] == MANAGER

    # The first refresh token again: a copy was used. The family ends, the owner's newest
    # tokens with it; the other device's session goes on.
    reused = (await gql(client, REFRESH, {"r": first["refreshToken"]}))["refreshSession"]
    assert (reused["__typename"], reused["code"]) == ("OperationError", "SESSION_REVOKED")
    assert await refused_with(client, third["token"]) == "SESSION_REVOKED"
    assert await refused_with(client, first["token"]) == "SESSION_REVOKED"
    after = (await gql(client, REFRESH, {"r": third["refreshToken"]}))["refreshSession"]
    assert after["code"] == "SESSION_REVOKED"
    assert (await gql(client, VIEWER, token=other["token"]))["viewer"]["email"] == MANAGER
    [reuse] = await AuditEvent.filter(action="REFRESH_TOKEN_REUSED")
    family = await Session.get(id=reuse.detail["sessionId"])
    assert family.revoked_reason == "REFRESH_TOKEN_REUSED"
    assert not await RefreshToken.filter(family_id=family.id, revoked_at=None).exists()
    # A made-up refresh token says nothing more than a revoked one.
    assert (await gql(client, REFRESH, {"r": "x" * 43}))["refreshSession"]["code"] == "SESSION_REVOKED"


async def test_an_unused_refresh_token_expires(client, settings):
    got, later = await session_aged(client, timedelta(days=settings.refresh_token_days))
    with later:
        refused = (await gql(client, REFRESH, {"r": got["refreshToken"]}))["refreshSession"]
    assert refused["code"] == "SESSION_REVOKED"


async def test_logout_ends_this_session_or_every_one(client):
    await make_manager()
    here, there, elsewhere = await session(client), await session(client), await session(client)
    ended = (await gql(client, LOGOUT, token=here["token"]))["logout"]
    assert ended == {"__typename": "LogoutSuccess", "sessionsEnded": 1}
    assert await refused_with(client, here["token"]) == "SESSION_REVOKED"
    assert (await gql(client, REFRESH, {"r": here["refreshToken"]}))["refreshSession"]["code"] == "SESSION_REVOKED"
    assert (await gql(client, VIEWER, token=there["token"]))["viewer"]["email"] == MANAGER

    everywhere = (await gql(client, LOGOUT, {"everywhere": True}, token=there["token"]))["logout"]
    assert everywhere["sessionsEnded"] == 2
    for gone in (there, elsewhere):
        assert await refused_with(client, gone["token"]) == "SESSION_REVOKED"
    assert (await gql(client, LOGOUT))["logout"]["code"] == "UNAUTHENTICATED"


async def test_a_password_change_needs_the_current_one_and_ends_the_other_sessions(client):
    await make_manager()
    here, there = await session(client), await session(client)
    wrong = (await gql(client, CHANGE, {"c": "not-the-password", "n": NEW_PASSWORD}, here["token"]))["changePassword"]
    assert (wrong["code"], wrong["field"]) == ("INVALID_CREDENTIALS", "currentPassword")
    weak = (await gql(client, CHANGE, {"c": PASSWORD, "n": "password12"}, here["token"]))["changePassword"]
    assert (weak["code"], weak["field"]) == ("INVALID_INPUT", "newPassword")
    assert (await gql(client, VIEWER, token=there["token"]))["viewer"]  # nothing changed yet

    changed = (await gql(client, CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, here["token"]))["changePassword"]
    assert changed["__typename"] == "ChangePasswordSuccess", changed
    assert (await gql(client, VIEWER, token=here["token"]))["viewer"]["email"] == MANAGER  # this one goes on
    assert await refused_with(client, there["token"]) == "SESSION_REVOKED"
    assert (await gql(client, REFRESH, {"r": there["refreshToken"]}))["refreshSession"]["code"] == "SESSION_REVOKED"
    old = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD}))["login"]
    assert old["code"] == "INVALID_CREDENTIALS"
    await session(client, password=NEW_PASSWORD)


async def test_a_rejected_registration_ends_the_partner_s_sessions(client):
    await make_manager()
    manager = await login(client, MANAGER, PASSWORD)
    partner_id = await register(client, "acme@example.com")
    partner = await session(client, "acme@example.com")
    rejected = (await gql(client, REJECT, {"partnerId": partner_id, "comment": "Unknown company."}, manager))
    assert rejected["rejectRegistration"]["__typename"] == "RegistrationDecisionSuccess"
    assert await refused_with(client, partner["token"]) == "SESSION_REVOKED"
    await session(client, "acme@example.com")  # logging in again shows the rejection


async def test_a_deactivated_or_deleted_user_s_token_stops_at_once(client):
    await make_manager()
    gone = await make_manager("gone@programme.example")
    admin = await make_manager("admin@programme.example", role=Role.ADMIN)
    admin_token = (await session(client, admin.email))["token"]
    token = (await session(client, gone.email))["token"]
    deactivate = """mutation ($id: ID!) { deactivateManager(managerId: $id) { __typename } }"""
    assert (await gql(client, deactivate, {"id": str(gone.id)}, admin_token))["deactivateManager"]["__typename"] \
        == "DeactivateManagerSuccess"
    assert await refused_with(client, token) == "SESSION_REVOKED"
    assert await Session.filter(user_id=gone.id, revoked_reason="DEACTIVATED").exists()

    other = await make_manager("deleted@programme.example")
    token = (await session(client, other.email))["token"]
    await other.delete()  # no operation deletes users; an operator's DELETE must end its sessions too
    assert await refused_with(client, token) == "SESSION_REVOKED"


class Outbox:
    """A mailer that keeps what it is given."""

    connections = 1

    def __init__(self):
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def aclose(self) -> None:
        pass


def text_of(message: Message) -> str:
    return next(part.get_payload(decode=True).decode() for part in message.walk()
                if part.get_content_type() == "text/plain")


async def reset_email(redis, settings) -> str:
    """The relay and the sender, as the worker runs them: the reset email's link token."""
    await audit_chain.chain_new()
    await events.catch_up(queue.notifications(redis, settings))
    outbox = Outbox()
    await send_emails(clock.now(), settings, outbox)
    [message] = outbox.sent
    [line] = [line for line in text_of(message).splitlines() if "set-password?token=" in line]
    return line.split("token=")[1].strip()


async def test_a_password_reset_answers_the_same_and_its_link_works_once(client, redis, settings):
    manager = await make_manager()
    elsewhere = await session(client)
    unknown = (await gql(client, RESET, {"e": "nobody@programme.example"}))["requestPasswordReset"]
    known = (await gql(client, RESET, {"e": MANAGER.upper()}))["requestPasswordReset"]
    assert unknown == known and known["__typename"] == "RequestPasswordResetSuccess"
    assert await AuditEvent.filter(action="PASSWORD_RESET_REQUESTED").count() == 1

    token = await reset_email(redis, settings)
    [notice] = await Notification.filter(kind="password_reset")
    assert notice.user_id == manager.id and notice.data == {"link": None, "expires_at": None}  # no link stored
    assert not await PasswordLink.filter(token_hash=token).exists()  # only its hash
    done = (await gql(client, SET_PASSWORD, {"token": token, "password": NEW_PASSWORD}))["setPassword"]
    assert done["__typename"] == "SetPasswordSuccess", done
    again = (await gql(client, SET_PASSWORD, {"token": token, "password": "yet-another-passphrase-here"}))["setPassword"]
    assert (again["code"], again["field"]) == ("INVALID_INPUT", "token")
    assert await refused_with(client, elsewhere["token"]) == "SESSION_REVOKED"  # signed out everywhere
    await session(client, password=NEW_PASSWORD)


async def test_a_password_reset_link_expires(client, redis, settings):
    await make_manager()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        assert (await gql(client, RESET, {"e": MANAGER}))["requestPasswordReset"]["__typename"] \
            == "RequestPasswordResetSuccess"
        token = await reset_email(redis, settings)
    with time_machine.travel(start + timedelta(minutes=settings.password_reset_minutes, seconds=1), tick=False):
        late = (await gql(client, SET_PASSWORD, {"token": token, "password": NEW_PASSWORD}))["setPassword"]
    assert (late["code"], late["field"]) == ("INVALID_INPUT", "token")
    await session(client)  # the password is as it was


async def test_reset_requests_are_capped_per_hour_silently(client, redis, settings):
    await make_manager()
    for _ in range(5):
        assert (await gql(client, RESET, {"e": MANAGER}))["requestPasswordReset"]["__typename"] \
            == "RequestPasswordResetSuccess"
    assert await AuditEvent.filter(action="PASSWORD_RESET_REQUESTED").count() == 3


async def enrolled(client) -> tuple[dict, str, list[str]]:
    """The manager, with the second factor turned on: (session, secret, recovery codes)."""
    here = await session(client)
    enrolment = (await gql(client, ENROLL, token=here["token"]))["enrollSecondFactor"]
    assert enrolment["otpauthUri"].startswith("otpauth://totp/")
    secret = enrolment["secret"]
    wrong = (await gql(client, CONFIRM, {"c": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"},
                       here["token"]))["confirmSecondFactor"]
    assert (wrong["code"], wrong["field"]) == ("INVALID_CREDENTIALS", "code")
    confirmed = (await gql(client, CONFIRM, {"c": pyotp.TOTP(secret).now()}, here["token"]))["confirmSecondFactor"]
    assert confirmed.get("viewer", {}).get("secondFactorEnabled") is True, confirmed
    return here, secret, confirmed["recoveryCodes"]


async def test_with_a_second_factor_login_asks_for_the_code_and_takes_each_code_once(client):
    await make_manager()
    start = clock.now()
    with time_machine.travel(start, tick=False):  # one TOTP time step throughout
        _, secret, codes = await enrolled(client)
        assert len(codes) == len(set(codes)) == 10
        asked = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD}))["login"]
        assert (asked["code"], asked["field"]) == ("SECOND_FACTOR_REQUIRED", "code")
        wrong = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD, "code": "000000"}))["login"]
        assert wrong["code"] == "INVALID_CREDENTIALS"
        # The code that confirmed enrolment belongs to this time step: it is not taken again.
        replay = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD,
                                            "code": pyotp.TOTP(secret).now()}))["login"]
        assert replay["code"] == "INVALID_CREDENTIALS"
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        code = pyotp.TOTP(secret).now()
        await session(client, code=code)
        again = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD, "code": code}))["login"]
        assert again["code"] == "INVALID_CREDENTIALS"


async def test_a_recovery_code_works_once(client):
    await make_manager()
    _, _, codes = await enrolled(client)
    await session(client, code=codes[0].upper())  # as typed off paper
    again = (await gql(client, LOGIN, {"email": MANAGER, "password": PASSWORD, "code": codes[0]}))["login"]
    assert again["code"] == "INVALID_CREDENTIALS"
    [used] = await AuditEvent.filter(action="RECOVERY_CODE_USED")
    assert used.detail == {"left": 9}
    await session(client, code=codes[1])


async def test_turning_the_second_factor_on_ends_other_sessions_and_off_needs_a_code(client):
    await make_manager()
    other = await session(client)
    here, secret, codes = await enrolled(client)
    assert await refused_with(client, other["token"]) == "SESSION_REVOKED"
    refused = (await gql(client, DISABLE, {"c": "000000"}, here["token"]))["disableSecondFactor"]
    assert refused["code"] == "INVALID_CREDENTIALS"
    off = (await gql(client, DISABLE, {"c": codes[3]}, here["token"]))["disableSecondFactor"]
    assert off["viewer"]["secondFactorEnabled"] is False
    await session(client)  # no code asked any more
    user = await User.get(email=MANAGER)
    assert user.totp_secret is None and user.totp_enabled_at is None


async def test_partners_have_no_second_factor_to_turn_on(client):
    await make_manager()
    manager = await login(client, MANAGER, PASSWORD)
    token, _, _ = await approved_partner(client, manager, "acme@example.com")
    assert (await gql(client, ENROLL, token=token))["enrollSecondFactor"]["code"] == "FORBIDDEN"
