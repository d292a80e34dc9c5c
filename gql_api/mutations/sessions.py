"""Sessions that end (S-28): refresh, logout, password change and reset, second factor."""

import strawberry
from strawberry.types import Info

from domain.services import access, accounts, second_factor, sessions
from gql_api import throttle
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.mutations.accounts import LoginResult, LoginSuccess
from gql_api.types import Viewer


@strawberry.type(description="The session (or every session of the viewer) has ended.")
class LogoutSuccess:
    sessions_ended: int = strawberry.field(description="How many sessions ended.")


@strawberry.type(description="The password is changed; the viewer's other sessions have ended.")
class ChangePasswordSuccess:
    viewer: Viewer = strawberry.field(description="Whose password it is.")


@strawberry.type(
    description="Asked. If an account has this email, a link to set a new password is on its way; "
    "the answer is the same either way."
)
class RequestPasswordResetSuccess:
    message: str = strawberry.field(description="What to tell the person.")


@strawberry.type(description="A second factor to confirm: shown once.")
class EnrollSecondFactorSuccess:
    secret: str = strawberry.field(description="The TOTP secret (base32), for typing into an app.")
    otpauth_uri: str = strawberry.field(description="The otpauth:// URI, for a QR code.")


@strawberry.type(description="The second factor is on; login asks for a code.")
class ConfirmSecondFactorSuccess:
    recovery_codes: list[str] = strawberry.field(
        description="Single-use codes that stand in for the app, shown this once. Keep them safe."
    )
    viewer: Viewer = strawberry.field(description="The viewer.")


@strawberry.type(description="The second factor is off.")
class DisableSecondFactorSuccess:
    viewer: Viewer = strawberry.field(description="The viewer.")


LogoutResult = result_of(LogoutSuccess)
ChangePasswordResult = result_of(ChangePasswordSuccess)
RequestPasswordResetResult = result_of(RequestPasswordResetSuccess)
EnrollSecondFactorResult = result_of(EnrollSecondFactorSuccess)
ConfirmSecondFactorResult = result_of(ConfirmSecondFactorSuccess)
DisableSecondFactorResult = result_of(DisableSecondFactorSuccess)

RESET_ASKED = ("If an account has this email, a link to set a new password is on its way to it. "
               "The link works once, for a limited time.")


def _signed_in(ctx: Context) -> sessions.SignedIn:
    access.require_signed_in(ctx.actor)
    assert ctx.session is not None
    return ctx.session


async def _guessing_guarded(ctx: Context, call):
    """A wrong password or code given by a signed-in viewer counts against the account as a
    failed login does, so that a stolen session cannot guess its way further."""
    email, address = ctx.session.user.email, ctx.actor.client_ip  # type: ignore[union-attr]
    throttle.spend_password_work(ctx)  # one password or code check per request, as login
    # As login: the attempt is charged as a failure before the check, and given back when
    # the password or code was right.
    attempt = await throttle.refuse_if_throttled(ctx.queue, ctx.settings, email, address)
    result = await call()
    await throttle.record(ctx.queue, ctx.settings, email, address, success=True, attempt=attempt)
    return result


@strawberry.type
class SessionMutations:
    @refusable_mutation(
        description="Trade a refresh token for a new token and refresh token. Each refresh token "
        "works once: one used again ends the whole session (SESSION_REVOKED), as it means a copy "
        "is in someone else's hands."
    )
    async def refresh_session(self, info: Info[Context, None], refresh_token: str) -> LoginResult:
        ctx = info.context
        return LoginSuccess.of(await sessions.refresh(refresh_token, ctx.now, ctx.settings))

    @refusable_mutation(
        description="End this session: its token and refresh token stop working, and its "
        "subscriptions end. `everywhere`: every session of the viewer."
    )
    async def logout(self, info: Info[Context, None], everywhere: bool = False) -> LogoutResult:
        ctx = info.context
        session = _signed_in(ctx)
        ended = await sessions.logout(ctx.actor, session.session_id, ctx.now, everywhere)
        return LogoutSuccess(sessions_ended=ended)

    @refusable_mutation(
        description="Change the viewer's password, giving the current one. Every other session of "
        "the viewer ends; this one goes on."
    )
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> ChangePasswordResult:
        ctx = info.context
        session = _signed_in(ctx)
        user = await _guessing_guarded(ctx, lambda: accounts.change_password(
            ctx.actor, session.session_id, current_password, new_password, ctx.now))
        return ChangePasswordSuccess(viewer=Viewer.of(user))

    @refusable_mutation(
        description="Email a one-time link to set a new password (setPassword), if an account has "
        "this email. The answer is the same whether or not one has."
    )
    async def request_password_reset(self, info: Info[Context, None], email: str) -> RequestPasswordResetResult:
        ctx = info.context
        await accounts.request_password_reset(email, ctx.now, ctx.actor)
        return RequestPasswordResetSuccess(message=RESET_ASKED)

    @refusable_mutation(
        description="Managers and admins: start turning on a second factor (TOTP). Confirm it with "
        "a code from the app (confirmSecondFactor); until then login does not ask for one."
    )
    async def enroll_second_factor(self, info: Info[Context, None]) -> EnrollSecondFactorResult:
        ctx = info.context
        enrolment = await second_factor.enroll(ctx.actor, ctx.settings)
        return EnrollSecondFactorSuccess(secret=enrolment.secret, otpauth_uri=enrolment.uri)

    @refusable_mutation(
        description="Managers and admins: turn the second factor on with a code from the app. "
        "Returns recovery codes, once; the viewer's other sessions end."
    )
    async def confirm_second_factor(self, info: Info[Context, None], code: str) -> ConfirmSecondFactorResult:
        ctx = info.context
        session = _signed_in(ctx)
        codes = await _guessing_guarded(ctx, lambda: second_factor.confirm(ctx.actor, session.session_id, code, ctx.now))
        return ConfirmSecondFactorSuccess(
            recovery_codes=codes, viewer=Viewer.of(await accounts.user_by_id(session.user.id))
        )

    @refusable_mutation(description="Managers and admins: turn the second factor off, with a code or a recovery code.")
    async def disable_second_factor(self, info: Info[Context, None], code: str) -> DisableSecondFactorResult:
        ctx = info.context
        session = _signed_in(ctx)
        access.require_manager(ctx.actor)
        await _guessing_guarded(ctx, lambda: second_factor.disable(ctx.actor, code, ctx.now))
        return DisableSecondFactorSuccess(viewer=Viewer.of(await accounts.user_by_id(session.user.id)))
