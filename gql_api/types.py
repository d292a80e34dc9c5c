"""GraphQL types: the domain's models as the schema shows them."""

import dataclasses
import functools
from datetime import date, datetime
from typing import Optional, Self, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import inputs, models
from domain.contract_text import ContractText, contract_text
from domain.lifecycle import (
    NON_RENEWAL_CLOSES_DAYS_LEFT,
    RENEWAL_CLOSES_DAYS_LEFT,
    RENEWAL_OPENS_DAYS_LEFT,
    ContractKind,
    ContractStatus,
    RegistrationStatus,
    RenewalStatus,
    ReviewStatus,
    days_left,
    non_renewal_allowed_until,
    renewal_status,
    renewal_window,
    renewal_window_open,
)
from domain.models import Role
from domain.services import access, notifications
from gql_api.context import Context
from gql_api.errors import refusable_field, result_of

ContractStatusType = strawberry.enum(ContractStatus, description="Where a contract stands.")
ContractKindType = strawberry.enum(ContractKind, description="Initial contract or renewal.")
RegistrationStatusType = strawberry.enum(RegistrationStatus, description="Registration review.")
ReviewStatusType = strawberry.enum(ReviewStatus, description="A request's review.")
RoleType = strawberry.enum(Role, description="What a user is in the programme.")
RenewalStatusType = strawberry.enum(RenewalStatus, description="What happens at the end of the term.")


T = TypeVar("T")


def optional_id(value: object) -> strawberry.ID | None:
    """A foreign key as the schema shows it: its id, or null."""
    return strawberry.ID(str(value)) if value else None


def seconds_since(then: datetime | None, now: datetime) -> int | None:
    """How long the oldest of a queue has waited, in whole seconds; null when none waits."""
    return int((now - then).total_seconds()) if then else None


@functools.cache
def plain_fields(cls: type) -> tuple[str, ...]:
    """A strawberry type's fields filled when it is made (its Private ones too), not those
    with a resolver."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def copy_fields(cls: type[T], source: object, **given: object) -> T:
    """cls with the fields given, and each other field copied from source's attribute of
    the same name: where the schema's names are the domain's, they are not listed twice.
    A field added to such a type is filled from the model's attribute of its name: give it
    explicitly where the meaning differs."""
    copied = {name: getattr(source, name) for name in plain_fields(cls) if name not in given}
    return cls(**copied, **given)


@strawberry.type(description="A country or region the programme sells in (ISO 3166-1 alpha-2).")
class Market:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    name: str = strawberry.field(description="English name.")

    @classmethod
    def of(cls, code: str) -> "Market":
        return cls(code=code, name=inputs.market_name(code))


@strawberry.type(description="Company information, as registered or as captured in a contract.")
class PartnerInfo:
    legal_name: str = strawberry.field(description="Legal company name.")
    registration_number: str = strawberry.field(description="Company registration number.")
    address: str = strawberry.field(description="Registered address.")
    contact_name: str = strawberry.field(description="Contact person.")
    email: str = strawberry.field(description="Contact email.")
    phone: str = strawberry.field(description="Contact phone, E.164.")

    @classmethod
    def of(cls, data: dict) -> "PartnerInfo":
        return cls(**{name: data[name] for name in plain_fields(cls)})


@strawberry.type(description="A channel manager (or admin), as a partner or a colleague sees them.")
class ChannelManager:
    user_email: strawberry.Private[str]
    id: strawberry.ID = strawberry.field(description="User id.")
    name: str = strawberry.field(description="Name.")

    @strawberry.field(
        description="Email; only managers and admins see it. A partner reaches its manager "
        "through the programme, not at a personal address (#14)."
    )
    def email(self, info: Info[Context, None]) -> Optional[str]:
        return self.user_email if info.context.actor.is_manager else None

    @classmethod
    def of(cls, user: models.User) -> "ChannelManager":
        return cls(user_email=user.email, id=strawberry.ID(str(user.id)), name=user.name)


async def _staff(info: Info[Context, None], user_id: object) -> Optional[ChannelManager]:
    """A manager (or admin) by user id: who decided, or a partner's channel manager."""
    if user_id is None:
        return None
    user = await info.context.users.load(user_id)
    return ChannelManager.of(user) if user else None


@strawberry.type(description="A reseller company in the programme.")
class Partner:
    # Plain fields, filled once: graphql-core reads them without a resolver call each.
    model: strawberry.Private[models.Partner]
    id: strawberry.ID = strawberry.field(description="Partner id.")
    info: PartnerInfo = strawberry.field(description="Current company information.")
    registration_status: RegistrationStatus = strawberry.field(description="Registration review status.")
    review_comment: Optional[str] = strawberry.field(
        description="The manager's comment on the registration decision."
    )
    registered_at: datetime = strawberry.field(description="When the registration was submitted.")
    reviewed_at: Optional[datetime] = strawberry.field(description="When the registration was approved or rejected.")

    @classmethod
    def of(cls, model: models.Partner) -> "Partner":
        return copy_fields(
            cls, model,
            model=model,
            id=strawberry.ID(str(model.id)),
            info=PartnerInfo.of(model.__dict__),
            registered_at=model.created_at,
        )

    @strawberry.field(description="Who approved or rejected the registration.")
    async def reviewed_by(self, info: Info[Context, None]) -> Optional[ChannelManager]:
        return await _staff(info, self.model.reviewed_by_id)

    @strawberry.field(description="The partner's channel manager.")
    async def manager(self, info: Info[Context, None]) -> Optional[ChannelManager]:
        return await _staff(info, self.model.manager_id)

    @strawberry.field(description="Whether a contract is in force, so the partner console is open (S-4).")
    async def console_access(self, info: Info[Context, None]) -> bool:
        return await info.context.consoles.load(self.model.id)


@strawberry.type(description="The signed, sealed PDF of a contract.")
class SignedDocument:
    sha256: str = strawberry.field(description="SHA-256 of the PDF.")
    size: int = strawberry.field(description="Size in bytes.")
    url: str = strawberry.field(description="Download path; send the bearer token.")


@strawberry.type(description="The contract text for a choice of regions, before signing.")
class ContractPreview:
    text: str = strawberry.field(description="The full contract text.")
    content_hash: str = strawberry.field(description="SHA-256 of the text; send it to signContract.")
    regions: list[Market] = strawberry.field(description="The regions, as they will be signed.")
    effective_on: date = strawberry.field(description="First day in force, if signed today.")
    expires_on: date = strawberry.field(description="Last day in force, if signed today.")


ContractPreviewResult = result_of(ContractPreview)


@strawberry.type(description="The days in which the partner may Renew (S-18).")
class RenewalWindow:
    opens_on: date = strawberry.field(description=f"First day (daysLeft = {RENEWAL_OPENS_DAYS_LEFT}).")
    closes_on: date = strawberry.field(description=f"Last day (daysLeft = {RENEWAL_CLOSES_DAYS_LEFT}).")
    is_open: bool = strawberry.field(description="Whether Renew is possible today.")


@strawberry.type
class PartnerRequest:
    """What an information change and a non-renewal request share: plain fields, filled
    once, as in Contract and Partner."""

    model: strawberry.Private[models.InfoChangeRequest | models.NonRenewalRequest]
    id: strawberry.ID = strawberry.field(description="Request id.")
    status: ReviewStatus = strawberry.field(description="Review status.")
    comment: Optional[str] = strawberry.field(description="The manager's comment.")
    created_at: datetime = strawberry.field(description="When it was requested.")

    @classmethod
    def of(cls, model: models.InfoChangeRequest | models.NonRenewalRequest, **given: object) -> Self:
        return copy_fields(cls, model, model=model, id=strawberry.ID(str(model.id)), **given)

    @strawberry.field(description="The partner.")
    async def partner(self, info: Info[Context, None]) -> Partner:
        return Partner.of(await info.context.partners.load(self.model.partner_id))

    @strawberry.field(
        description="The manager who approved or rejected it; null while in review or when withdrawn."
    )
    async def decided_by(self, info: Info[Context, None]) -> Optional[ChannelManager]:
        return await _staff(info, self.model.reviewer_id)


@strawberry.type(description="A partner's request not to renew a contract (S-15, S-16).")
class NonRenewalRequest(PartnerRequest):
    model: strawberry.Private[models.NonRenewalRequest]
    reason: Optional[str] = strawberry.field(description="The partner's reason, if given.")
    confirmed: JSON = strawberry.field(description="The contract information the partner confirmed.")
    decided_at: Optional[datetime] = strawberry.field(description="When it was decided or withdrawn.")

    @strawberry.field(description="The contract.")
    async def contract(self, info: Info[Context, None]) -> "Contract":
        return Contract.of(await info.context.contracts.load(self.model.contract_id))


@strawberry.type(description="A partner contract: initial or renewal.")
class Contract:
    # Plain fields, filled once: graphql-core reads them without a resolver call each,
    # which is most of the cost of a long list.
    model: strawberry.Private[models.Contract]
    id: strawberry.ID = strawberry.field(description="Contract id.")
    kind: ContractKind = strawberry.field(description="Initial contract or renewal.")
    status: ContractStatus = strawberry.field(description="Current status.")
    partner_snapshot: PartnerInfo = strawberry.field(
        description="The partner information the contract is (or will be) signed with."
    )
    regions: list[Market] = strawberry.field(
        description="Target countries/regions; empty until chosen at signing."
    )
    effective_on: Optional[date] = strawberry.field(
        description="First day in force; set when signed (initial) or pushed (renewal)."
    )
    expires_on: Optional[date] = strawberry.field(description="Last day in force.")
    signed_at: Optional[datetime] = strawberry.field(description="When the partner signed.")
    sealed_at: Optional[datetime] = strawberry.field(description="When the programme sealed the document.")
    signing_error: Optional[str] = strawberry.field(
        description="Why signing failed, for the partner and the manager."
    )
    auto_renewed: bool = strawberry.field(description="Renewed by the system rather than by the partner.")
    created_at: datetime = strawberry.field(description="When the contract was pushed.")

    @classmethod
    def of(cls, model: models.Contract) -> "Contract":
        return copy_fields(
            cls, model,
            model=model,
            id=strawberry.ID(str(model.id)),
            partner_snapshot=PartnerInfo.of(model.partner_snapshot),
            regions=[Market.of(code) for code in model.regions],
        )

    @strawberry.field(description="expiresOn minus today (S-14).")
    def days_left(self, info: Info[Context, None]) -> Optional[int]:
        if self.model.expires_on is None:
            return None
        return days_left(self.model.expires_on, info.context.today)

    @strawberry.field(description="Version of the template the text is rendered from.")
    async def template_version(self, info: Info[Context, None]) -> int:
        template = await info.context.templates.load(self.model.template_id)
        return template.version

    async def _text(self, info: Info[Context, None]) -> ContractText:
        template = await info.context.templates.load(self.model.template_id)
        return contract_text(self.model, template, info.context.today, info.context.settings)

    @strawberry.field(description="The contract text with its current regions and dates.")
    async def text(self, info: Info[Context, None]) -> str:
        return (await self._text(info)).text

    @strawberry.field(description="SHA-256 of `text`. Once signed, the hash the partner signed.")
    async def content_hash(self, info: Info[Context, None]) -> str:
        return self.model.content_hash or (await self._text(info)).content_hash

    @refusable_field(
        description="The text and its hash for the regions the partner picked (S-7, S-8)."
    )
    async def preview(self, info: Info[Context, None], regions: list[str]) -> ContractPreviewResult:
        picked = inputs.regions("regions", regions, info.context.settings.markets)
        template = await info.context.templates.load(self.model.template_id)
        shown = contract_text(
            self.model, template, info.context.today, info.context.settings, picked
        )
        return copy_fields(ContractPreview, shown, regions=[Market.of(code) for code in picked])

    @strawberry.field(description="The sealed PDF, once signing completes (S-12).")
    async def document(self, info: Info[Context, None]) -> Optional[SignedDocument]:
        digest = self.model.document_id
        if digest is None:
            return None
        return SignedDocument(
            sha256=digest,
            size=(await info.context.documents.load(digest)).size,
            url=f"/contracts/{self.model.id}/document.pdf",
        )

    @strawberry.field(description="The partner this contract belongs to.")
    async def partner(self, info: Info[Context, None]) -> Partner:
        return Partner.of(await info.context.partners.load(self.model.partner_id))

    @strawberry.field(description="The Renew window; null until the term is known.")
    def renewal_window(self, info: Info[Context, None]) -> Optional[RenewalWindow]:
        if self.model.expires_on is None:
            return None
        opens_on, closes_on = renewal_window(self.model.expires_on)
        return RenewalWindow(
            opens_on=opens_on,
            closes_on=closes_on,
            is_open=renewal_window_open(self.model.expires_on, info.context.today),
        )

    @strawberry.field(description=f"The last day a non-renewal may be requested (daysLeft = {NON_RENEWAL_CLOSES_DAYS_LEFT}).")
    def non_renewal_allowed_until(self) -> Optional[date]:
        return non_renewal_allowed_until(self.model.expires_on) if self.model.expires_on else None

    @strawberry.field(description="What happens at the end of the term.")
    async def renewal_status(self, info: Info[Context, None]) -> RenewalStatus:
        successor = await info.context.successors.load(self.model.id)
        hold = await info.context.non_renewal_holds.load(self.model.id)
        return renewal_status(successor.status if successor else None, hold.status if hold else None)

    @strawberry.field(description="The contract this one renews.")
    async def predecessor(self, info: Info[Context, None]) -> Optional["Contract"]:
        if self.model.predecessor_id is None:
            return None
        return Contract.of(await info.context.contracts.load(self.model.predecessor_id))

    @strawberry.field(description="The renewal of this contract, once there is one.")
    async def successor(self, info: Info[Context, None]) -> Optional["Contract"]:
        successor = await info.context.successors.load(self.model.id)
        return Contract.of(successor) if successor else None

    @strawberry.field(description="The newest audit event of this contract.")
    async def latest_event(self, info: Info[Context, None]) -> Optional["AuditEvent"]:
        event = await info.context.latest_events.load(self.model.id)
        return AuditEvent.of(event) if event else None

    @strawberry.field(description="The non-renewal request in review or approved, if any.")
    async def non_renewal_request(self, info: Info[Context, None]) -> Optional[NonRenewalRequest]:
        hold = await info.context.non_renewal_holds.load(self.model.id)
        return NonRenewalRequest.of(hold) if hold else None


@strawberry.type(description="One field of an information change.")
class FieldChange:
    field: str = strawberry.field(description="Field name.")
    before: str = strawberry.field(description="Value before.")
    after: str = strawberry.field(description="Requested value.")


@strawberry.type(description="A partner's request to change its company information (S-6).")
class InfoChangeRequest(PartnerRequest):
    model: strawberry.Private[models.InfoChangeRequest]
    changes: list[FieldChange] = strawberry.field(description="The fields, before and after.")
    reason: str = strawberry.field(description="The partner's reason.")
    decided_at: Optional[datetime] = strawberry.field(description="When it was decided.")

    @classmethod
    def of(cls, model: models.InfoChangeRequest) -> "InfoChangeRequest":
        return super().of(model, changes=[
            FieldChange(field=inputs.camel(name), before=model.previous[name], after=value)
            for name, value in sorted(model.changes.items())
        ])


@strawberry.type(description="An append-only record of a state change (S-22).")
class AuditEvent:
    id: strawberry.ID = strawberry.field(description="Monotonically increasing id; also the cursor.")
    at: datetime = strawberry.field(description="When.")
    action: str = strawberry.field(description="What happened.")
    actor_role: Optional[Role] = strawberry.field(description="The kind of actor; null for an anonymous one.")
    actor_id: Optional[strawberry.ID] = strawberry.field(description="The acting user, if any.")
    from_status: Optional[str] = strawberry.field(description="Status before.")
    to_status: Optional[str] = strawberry.field(description="Status after.")
    partner_id: Optional[strawberry.ID] = strawberry.field(description="The partner concerned.")
    contract_id: Optional[strawberry.ID] = strawberry.field(description="The contract concerned, if any.")
    request_id: Optional[str] = strawberry.field(description="The request that caused it.")
    detail: JSON = strawberry.field(description="Details of the change.")
    actor_user_id: strawberry.Private[object] = None

    @strawberry.field(description="The acting user's name, if any: who it was, in words.")
    async def actor_name(self, info: Info[Context, None]) -> Optional[str]:
        if self.actor_user_id is None:
            return None
        user = await info.context.users.load(self.actor_user_id)
        return user.name if user else None

    @classmethod
    def of(cls, model: models.AuditEvent) -> "AuditEvent":
        return copy_fields(
            cls, model,
            id=strawberry.ID(str(model.id)),
            actor_id=optional_id(model.actor_id),
            partner_id=optional_id(model.partner_id),
            contract_id=optional_id(model.contract_id),
            actor_user_id=model.actor_id,
        )


@strawberry.type(description="Who is logged in.")
class Viewer:
    user: strawberry.Private[models.User]
    id: strawberry.ID = strawberry.field(description="User id.")
    email: str = strawberry.field(description="Login email.")
    name: str = strawberry.field(description="Name.")
    role: Role = strawberry.field(description="Role.")
    locale: str = strawberry.field(description="The language of the viewer's emails and notification subjects.")
    reminders_enabled: bool = strawberry.field(
        description="Whether reminders and work alerts come; legal notices and decisions always do."
    )
    second_factor_enabled: bool = strawberry.field(
        description="Whether login asks for a TOTP code (managers and admins; S-28)."
    )

    @classmethod
    def of(cls, user: models.User) -> "Viewer":
        return copy_fields(cls, user, user=user, id=strawberry.ID(str(user.id)),
                           second_factor_enabled=user.totp_enabled_at is not None)

    @strawberry.field(description="The partner, for a partner user.")
    async def partner(self, info: Info[Context, None]) -> Optional[Partner]:
        if self.user.partner_id is None:
            return None
        return Partner.of(await info.context.partners.load(self.user.partner_id))

    @strawberry.field(description="How many of the viewer's notifications are unread.")
    async def unread_notifications(self, info: Info[Context, None]) -> int:
        return await notifications.unread_count(self.user.id)

    @strawberry.field(
        description="Whether the partner console is open (S-4): always for managers; for a "
        "partner, once a contract is in force."
    )
    async def console_access(self, info: Info[Context, None]) -> bool:
        if self.user.role is not Role.PARTNER:
            return True
        return await access.console_open(self.user.partner_id, info.context.today)
