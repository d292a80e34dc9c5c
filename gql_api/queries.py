from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info
from tortoise.expressions import Q

from domain import events, inputs
from domain.documents import storage
from domain.documents.verification import check_pdf
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ContractStatus, RegistrationStatus, RenewalStatus, ReviewStatus
from domain.models import AuditEvent as AuditEventModel
from domain.services import access, contract_filters
from gql_api.context import Context
from gql_api.overview import overview_field
from gql_api.pagination import Connection, after_cursor, page
from gql_api.subscriptions import ContractStatusChange, is_status_change
from gql_api.types import (
    AuditEvent,
    Contract,
    InfoChangeRequest,
    Market,
    NonRenewalRequest,
    OperationError,
    Partner,
    Viewer,
)

ContractResult = Annotated[Contract | OperationError, strawberry.union("ContractResult")]
PartnerResult = Annotated[Partner | OperationError, strawberry.union("PartnerResult")]


@strawberry.type(description="The partner console's summary; open once a contract is in force (S-4).")
class PartnerConsole:
    partner: Partner = strawberry.field(description="The partner.")
    contracts_in_force: int = strawberry.field(description="Contracts in force today.")


PartnerConsoleResult = Annotated[
    PartnerConsole | OperationError, strawberry.union("PartnerConsoleResult")
]


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


DocumentCheckResult = Annotated[
    DocumentCheck | OperationError, strawberry.union("DocumentCheckResult")
]


@strawberry.type
class Query:
    @strawberry.field(description="Who is logged in; null when no valid token is sent.")
    def viewer(self, info: Info[Context, None]) -> Optional[Viewer]:
        user = info.context.user
        return Viewer(user=user) if user else None

    @strawberry.field(description="The programme's markets (ISO 3166-1 alpha-2).")
    def markets(self, info: Info[Context, None]) -> list[Market]:
        return [Market.of(code) for code in info.context.settings.markets]

    @strawberry.field(description="The partner console summary; CONTRACT_NOT_SIGNED until a contract is in force.")
    async def partner_console(self, info: Info[Context, None]) -> PartnerConsoleResult:
        ctx = info.context
        try:
            partner_id = access.require_partner(ctx.actor)
            await access.require_console(ctx.actor, ctx.today)
        except DomainError as error:
            return OperationError.of(error)
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
        queryset = access.contracts_visible_to(info.context.actor)
        if status:
            queryset = queryset.filter(status=status)
        if expiring_within_days is not None:
            queryset = contract_filters.expiring_within(queryset, info.context.today, expiring_within_days)
        if renewal_status:
            queryset = queryset.filter(contract_filters.renewal_status_is(renewal_status))
        if region is not None:
            code = inputs.regions("region", [region], info.context.settings.markets)[0]
            queryset = contract_filters.in_region(queryset, code)
        if partner_id:
            queryset = queryset.filter(partner_id=inputs.parse_id("partnerId", partner_id))
        rows, page_info = await page(queryset, first, after, soonest_expiry=expiring_within_days is not None)
        return Connection(nodes=[Contract.of(row) for row in rows], page_info=page_info)

    @strawberry.field(description="One contract; NOT_FOUND when it is not the viewer's to see.")
    async def contract(self, info: Info[Context, None], id: strawberry.ID) -> ContractResult:
        try:
            return Contract.of(await access.get_contract(info.context.actor, id, "id"))
        except DomainError as error:
            return OperationError.of(error)

    @strawberry.field(description="Partners the viewer manages (all, for an admin), newest first.")
    async def partners(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        registration_status: Optional[RegistrationStatus] = None,
        search: Optional[str] = None,
    ) -> Connection[Partner]:
        access.require_manager(info.context.actor)
        queryset = access.partners_visible_to(info.context.actor)
        if registration_status:
            queryset = queryset.filter(registration_status=registration_status)
        if search:
            term = inputs.text("search", search, 200)
            queryset = queryset.filter(
                Q(legal_name__icontains=term) | Q(registration_number__icontains=term) | Q(email__icontains=term)
            )
        rows, page_info = await page(queryset, first, after)
        return Connection(nodes=[Partner.of(row) for row in rows], page_info=page_info)

    @strawberry.field(description="One partner; NOT_FOUND when it is not the viewer's to see.")
    async def partner(self, info: Info[Context, None], id: strawberry.ID) -> PartnerResult:
        try:
            return Partner.of(await access.get_partner(info.context.actor, id, "id"))
        except DomainError as error:
            return OperationError.of(error)

    @strawberry.field(description="Information change requests the viewer may see, newest first.")
    async def info_change_requests(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        status: Optional[ReviewStatus] = None,
    ) -> Connection[InfoChangeRequest]:
        queryset = access.info_change_requests_visible_to(info.context.actor)
        if status:
            queryset = queryset.filter(status=status)
        rows, page_info = await page(queryset, first, after)
        return Connection(nodes=[InfoChangeRequest(model=row) for row in rows], page_info=page_info)

    @strawberry.field(description="Non-renewal requests the viewer may see, newest first.")
    async def non_renewal_requests(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        status: Optional[ReviewStatus] = None,
    ) -> Connection[NonRenewalRequest]:
        queryset = access.non_renewal_requests_visible_to(info.context.actor)
        if status:
            queryset = queryset.filter(status=status)
        rows, page_info = await page(queryset, first, after)
        return Connection(nodes=[NonRenewalRequest(model=row) for row in rows], page_info=page_info)

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
        actor = info.context.actor
        if contract_id:
            contract = await access.get_contract(actor, contract_id)
            queryset = AuditEventModel.filter(contract_id=contract.id)
        elif partner_id:
            partner = await access.get_partner(actor, partner_id)
            queryset = AuditEventModel.filter(partner_id=partner.id)
        else:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "Give a contractId or a partnerId.", "contractId"
            )
        rows, page_info = await after_cursor(queryset, first, after)
        return Connection(nodes=[AuditEvent.of(row) for row in rows], page_info=page_info)

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
        actor = info.context.actor
        queryset = access.audit_events_visible_to(actor).filter(
            contract_id__not_isnull=True, to_status__in=list(ContractStatus)
        )
        if contract_id:
            queryset = queryset.filter(contract_id=(await access.get_contract(actor, contract_id)).id)
        rows, page_info = await after_cursor(queryset, first, after)
        messages = [events.message(row) for row in rows]
        changes = [ContractStatusChange.of(m) for m in messages if is_status_change(m)]
        return Connection(nodes=changes, page_info=page_info)

    @strawberry.field(description="Check a contract's stored PDF: its hash and the programme's seal.")
    async def document_check(self, info: Info[Context, None], contract_id: strawberry.ID) -> DocumentCheckResult:
        ctx = info.context
        try:
            contract = await access.get_contract(ctx.actor, contract_id)
        except DomainError as error:
            return OperationError.of(error)
        if contract.document_id is None:  # type: ignore[attr-defined]
            return OperationError(code=ErrorCode.INVALID_STATE, message="This contract has no signed document yet.", field="contractId")
        digest = contract.document_id  # type: ignore[attr-defined]
        check = await check_pdf(await storage.read(digest, ctx.settings), digest, ctx.settings)
        return DocumentCheck(
            sha256=check.sha256,
            sha256_matches=check.sha256_matches,
            signature_intact=check.signature_intact,
            signature_trusted=check.signature_trusted,
            covers_whole_file=check.covers_whole_file,
            valid=check.valid,
            level=check.level,
            timestamp_time=check.timestamp_time,
            timestamp_authority=check.timestamp_authority,
            validates_offline=check.validates_offline,
        )

    overview = overview_field
