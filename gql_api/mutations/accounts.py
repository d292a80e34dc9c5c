from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain.errors import DomainError, ErrorCode
from domain.services import accounts, registration, sessions
from gql_api import throttle
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import Partner, Viewer, copy_fields


@strawberry.input(description="Company information and a password for the partner's login (S-1).")
class RegisterPartnerInput:
    legal_name: str = strawberry.field(description="Legal company name.")
    registration_number: str = strawberry.field(description="Company registration number.")
    address: str = strawberry.field(description="Registered address.")
    contact_name: str = strawberry.field(description="Contact person.")
    email: str = strawberry.field(description="Contact email; also the login.")
    phone: str = strawberry.field(description="Phone in international form.")
    password: str = strawberry.field(description="10 to 256 characters.")


@strawberry.type(description="The registration waits in review.")
class RegisterPartnerSuccess:
    partner: Partner = strawberry.field(description="The registered partner.")


@strawberry.type(
    description="A session: a short-lived bearer token for the Authorization header, and a "
    "refresh token that trades for a new pair (refreshSession), once."
)
class LoginSuccess:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime = strawberry.field(
        description="When the token stops working (TOKEN_TTL_MINUTES); refresh before."
    )
    refresh_token: str = strawberry.field(
        description="For refreshSession, once: each refresh returns a new one. Keep it secret; "
        "a refresh token used twice ends the session."
    )
    refresh_expires_at: datetime = strawberry.field(description="When the refresh token stops working.")
    session_expires_at: datetime = strawberry.field(
        description="When the session ends however often it is refreshed (SESSION_DAYS after the login): "
        "log in again then."
    )
    viewer: Viewer = strawberry.field(description="Who logged in.")

    @classmethod
    def of(cls, tokens: sessions.Tokens) -> "LoginSuccess":
        return copy_fields(cls, tokens, token=tokens.access_token, viewer=Viewer.of(tokens.user))


RegisterPartnerResult = result_of(RegisterPartnerSuccess)
LoginResult = result_of(LoginSuccess)


@strawberry.type(description="The password is set; log in with it.")
class SetPasswordSuccess:
    viewer: Viewer = strawberry.field(description="Whose password it is.")


SetPasswordResult = result_of(SetPasswordSuccess)


@strawberry.type
class AccountMutations:
    @refusable_mutation(description="Register a partner company; it waits in review (S-1).")
    async def register_partner(
        self, info: Info[Context, None], input: RegisterPartnerInput
    ) -> RegisterPartnerResult:
        ctx = info.context
        throttle.spend_password_work(ctx)
        await throttle.claim_registration(ctx.queue, ctx.settings, ctx.actor.client_ip)
        fields = {k: v for k, v in vars(input).items() if k != "password"}
        partner = await registration.register_partner(fields, input.password, ctx.now, ctx.actor)
        return RegisterPartnerSuccess(partner=Partner.of(partner))

    @refusable_mutation(
        description="Log in with email and password. After repeated failures each further "
        "attempt waits a growing delay (TOO_MANY_ATTEMPTS says how long): per client address, per "
        "account from that address, and briefly per account from addresses it never signed in from. "
        "A user with a second factor also gives `code` (TOTP or a recovery code); without it the "
        "answer is SECOND_FACTOR_REQUIRED, and the client asks for the code and logs in again."
    )
    async def login(
        self, info: Info[Context, None], email: str, password: str,
        code: Annotated[Optional[str], strawberry.argument(
            description="The 6-digit TOTP code, or a recovery code, for a user with a second factor."
        )] = None,
    ) -> LoginResult:
        ctx = info.context
        address = ctx.actor.client_ip
        throttle.spend_password_work(ctx)
        attempt = await throttle.refuse_if_throttled(ctx.queue, ctx.settings, email, address)
        try:
            tokens = await accounts.login(email, password, ctx.now, ctx.settings, code)
        except DomainError as error:
            if error.code is ErrorCode.INVALID_CREDENTIALS:  # a wrong password or code counts
                await throttle.record(ctx.queue, ctx.settings, email, address, success=False)
            raise
        await throttle.record(ctx.queue, ctx.settings, email, address, success=True, attempt=attempt)
        return LoginSuccess.of(tokens)

    @refusable_mutation(
        description="Set a password with the token of a one-time link (an invitation, the first "
        "admin's, or a password reset email). The link then stops working, and so do every other "
        "open link and every session of that user."
    )
    async def set_password(self, info: Info[Context, None], token: str, password: str) -> SetPasswordResult:
        throttle.spend_password_work(info.context)
        user = await accounts.set_password(token, password, info.context.now)
        return SetPasswordSuccess(viewer=Viewer.of(user))
