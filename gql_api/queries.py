import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain import events
from domain.documents import storage
from domain.documents.verification import check_pdf
from domain.lifecycle import ContractStatus, RegistrationStatus, RenewalStatus, ReviewStatus
from domain.pagination import Page
from domain.services import access, lists, lookups
from domain.services.contract_filters import ContractFilter
from gql_api.administration import contract_templates_field, template_draft_field, workload_field
from gql_api.context import Context
from gql_api.errors import refusable_field, result_of
from gql_api.notifications import NotificationQueries
from gql_api.overview import overview_field
from gql_api.pagination import Connection, connection
from gql_api.subscriptions import ContractStatusChange, is_status_change
from gql_api.types import (
    AuditEvent,
    Contract,
    InfoChangeRequest,
    Market,
    NonRenewalRequest,
    Partner,
    PartnerRequest,
    Viewer,
    copy_fields,
)
from gql_api.webhooks import WebhookQueries

ContractResult = result_of(Contract)
PartnerResult = result_of(Partner)


# A review queue is worked oldest first; the lists are newest first otherwise.
OldestFirst = Annotated[bool, strawberry.argument(description="Oldest first, as a review queue is worked.")]
RequestIds = Annotated[
    Optional[list[strawberry.ID]],
    strawberry.argument(description="Only these requests (at most 100), e.g. the ones a client had on screen: "
                        "who decided those that left the queue, and when."),
]


def partner_requests_field(kind: type[PartnerRequest], pages: Callable[..., Awaitable[Page]], description: str):
    """infoChangeRequests and nonRenewalRequests: one list of partner requests, with the same
    arguments, over each kind."""

    async def resolve(
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        status: Optional[ReviewStatus] = None,
        oldest_first: OldestFirst = False,
        ids: RequestIds = None,
    ) -> Connection[kind]:  # type: ignore[valid-type]
        return connection(await pages(info.context.actor, first, after, status, oldest_first, ids), kind.of)

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="The partner console's summary; open once a contract is in force (S-4).")
class PartnerConsole:
    partner: Partner = strawberry.field(description="The partner.")
    contracts_in_force: int = strawberry.field(description="Contracts in force today.")


PartnerConsoleResult = result_of(PartnerConsole)


@strawberry.type(description="Does a stored document match its hash, and does the seal validate?")
class DocumentCheck:
    sha256: str = strawberry.field(description="SHA-256 of the stored file.")
    sha256_matches: bool = strawberry.field(description="The file is the one recorded at sealing.")
    signature_intact: bool = strawberry.field(description="The signed bytes are unchanged.")
    signature_trusted: bool = strawberry.field(description="The seal chains to the programme's root.")
    covers_whole_file: bool = strawberry.field(
        description="Nothing was changed after sealing but added validation data and timestamps.")
    valid: bool = strawberry.field(description="All of the above.")
    level: Optional[str] = strawberry.field(
        description="The PAdES level the seal reaches and validates at: B-B, B-T, B-LT or B-LTA.")
    timestamp_time: Optional[datetime] = strawberry.field(
        description="When the seal's RFC 3161 timestamp says it was made.")
    timestamp_authority: Optional[str] = strawberry.field(description="The time-stamping authority.")
    validates_offline: bool = strawberry.field(
        description="Trusted as of the timestamp from the document alone (its embedded "
                    "certificates and revocation data), with no network.")


DocumentCheckResult = result_of(DocumentCheck)


@strawberry.type
class Query(NotificationQueries, WebhookQueries):
    @strawberry.field(
        description="Who is logged in; null when no token is sent. An expired or revoked token is "
        "refused with TOKEN_EXPIRED or SESSION_REVOKED."
    )
    def viewer(self, info: Info[Context, None]) -> Optional[Viewer]:
        user = info.context.user
        if user is None and info.context.actor.refused:
            access.require_signed_in(info.context.actor)  # raises the coded refusal
        return Viewer.of(user) if user else None

    @strawberry.field(description="The programme's markets (ISO 3166-1 alpha-2).")
    def markets(self, info: Info[Context, None]) -> list[Market]:
        return [Market.of(code) for code in info.context.settings.markets]

    @refusable_field(description="The partner console summary; CONTRACT_NOT_SIGNED until a contract is in force.")
    async def partner_console(self, info: Info[Context, None]) -> PartnerConsoleResult:
        ctx = info.context
        partner_id = access.require_partner(ctx.actor)
        await access.require_console(ctx.actor, ctx.today)
        partner = await ctx.partners.load(partner_id)
        in_force = await access.contracts_in_force(partner_id, ctx.today)
        return PartnerConsole(partner=Partner.of(partner), contracts_in_force=len(in_force))

    @strawberry.field(description="Contracts the viewer may see, newest first.")
    async def contracts(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        status: Optional[ContractStatus] = None,
        partner_id: Optional[strawberry.ID] = None,
        expiring_within_days: Annotated[
            Optional[int],
            strawberry.argument(
                description="Only contracts in force whose last day is within N days, soonest first."
            ),
        ] = None,
        renewal_status: Annotated[
            Optional[RenewalStatus],
            strawberry.argument(description="Only contracts with this renewal status."),
        ] = None,
        region: Annotated[
            Optional[str],
            strawberry.argument(description="Only contracts whose target regions include this market code."),
        ] = None,
    ) -> Connection[Contract]:
        ctx = info.context
        page = await lists.contracts(
            ctx.actor, ctx.today, ctx.settings.markets, first, after,
            ContractFilter(status=status, partner_id=partner_id, expiring_within_days=expiring_within_days,
                           renewal_status=renewal_status, region=region),
        )
        return connection(page, Contract.of)

    @refusable_field(description="One contract; NOT_FOUND when it is not the viewer's to see.")
    async def contract(self, info: Info[Context, None], id: strawberry.ID) -> ContractResult:
        return Contract.of(await access.get_contract(info.context.actor, id, "id"))

    @strawberry.field(description="Partners the viewer manages (all, for an admin), newest first (or oldest first).")
    async def partners(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        registration_status: Optional[RegistrationStatus] = None,
        search: Optional[str] = None,
        oldest_first: OldestFirst = False,
    ) -> Connection[Partner]:
        page = await lists.partners(
            info.context.actor, first, after, registration_status=registration_status, search=search,
            oldest_first=oldest_first,
        )
        return connection(page, Partner.of)

    @refusable_field(description="One partner; NOT_FOUND when it is not the viewer's to see.")
    async def partner(self, info: Info[Context, None], id: strawberry.ID) -> PartnerResult:
        return Partner.of(await access.get_partner(info.context.actor, id, "id"))

    info_change_requests = partner_requests_field(
        InfoChangeRequest, lists.info_change_requests,
        "Information change requests the viewer may see, newest first (or oldest first).",
    )
    non_renewal_requests = partner_requests_field(
        NonRenewalRequest, lists.non_renewal_requests,
        "Non-renewal requests the viewer may see, newest first (or oldest first).",
    )

    @strawberry.field(
        description="Audit events of one contract or one partner, oldest first (S-22). "
        "`after` is an event id."
    )
    async def audit_events(
        self,
        info: Info[Context, None],
        contract_id: Optional[strawberry.ID] = None,
        partner_id: Optional[strawberry.ID] = None,
        first: int = 50,
        after: Optional[strawberry.ID] = None,
    ) -> Connection[AuditEvent]:
        page = await lists.audit_events(info.context.actor, contract_id, partner_id, first, after)
        return connection(page, AuditEvent.of)

    @strawberry.field(
        description="Contract status changes after a cursor, oldest first: what a "
        "subscriber missed while disconnected. The same events contractStatusChanged sends."
    )
    async def contract_events(
        self,
        info: Info[Context, None],
        after: Optional[strawberry.ID] = None,
        contract_id: Optional[strawberry.ID] = None,
        first: int = 100,
    ) -> Connection[ContractStatusChange]:
        page = await lists.contract_status_events(info.context.actor, contract_id, first, after)
        messages = [events.message(row) for row in page.rows]
        changes = [m for m in messages if is_status_change(m)]
        return connection(dataclasses.replace(page, rows=changes), ContractStatusChange.of)

    @refusable_field(description="Check a contract's stored PDF: its hash and the programme's seal.")
    async def document_check(self, info: Info[Context, None], contract_id: strawberry.ID) -> DocumentCheckResult:
        ctx = info.context
        document = await lookups.signed_document(ctx.actor, contract_id)
        check = await check_pdf(await storage.read(document.sha256, ctx.settings), document.sha256, ctx.settings)
        return copy_fields(DocumentCheck, check)

    overview = overview_field
    workload = workload_field
    contract_templates = contract_templates_field
    template_draft = template_draft_field
