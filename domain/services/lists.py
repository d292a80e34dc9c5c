"""The lists the API pages through: what the actor may see (S-5, access), filtered, one
keyset page at a time (domain.pagination)."""

from datetime import date

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from domain import inputs
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ContractStatus, RegistrationStatus, ReviewStatus
from domain.models import (
    AuditEvent,
    Contract,
    InfoChangeRequest,
    NonRenewalRequest,
    Notification,
    Partner,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.notifications.webhooks import DeliveryStatus
from domain.pagination import MAX_PAGE, Page, after_event, page
from domain.services import access, contract_filters, integrations
from domain.services import notifications as notices
from domain.services.contract_filters import ContractFilter


def contracts_matching(
    actor: Actor, today: date, markets: list[str], filters: ContractFilter
) -> QuerySet[Contract]:
    """The contracts the actor may see that pass the filters: the list's, and its export's."""
    queryset = access.contracts_visible_to(actor)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.expiring_within_days is not None:
        queryset = contract_filters.expiring_within(queryset, today, filters.expiring_within_days)
    if filters.renewal_status:
        queryset = queryset.filter(contract_filters.renewal_status_is(filters.renewal_status))
    if filters.region is not None:
        code = inputs.regions("region", [filters.region], markets)[0]
        queryset = contract_filters.in_region(queryset, code)
    if filters.partner_id:
        queryset = queryset.filter(partner_id=inputs.parse_id("partnerId", filters.partner_id))
    return queryset


async def contracts(
    actor: Actor, today: date, markets: list[str], first: int, after: str | None,
    filters: ContractFilter = ContractFilter(),
) -> Page[Contract]:
    """Newest first; soonest expiry first when filtered by expiringWithinDays."""
    queryset = contracts_matching(actor, today, markets, filters)
    return await page(queryset, first, after, soonest_expiry=filters.expiring_within_days is not None)


def partners_matching(
    actor: Actor, registration_status: RegistrationStatus | None = None, search: str | None = None
) -> QuerySet[Partner]:
    """The partners the actor may see that pass the filters: the list's, and its export's.
    Managers only; `search` matches the legal name, registration number or email."""
    access.require_manager(actor)
    queryset = access.partners_visible_to(actor)
    if registration_status:
        queryset = queryset.filter(registration_status=registration_status)
    if search:
        term = inputs.text("search", search, 200)
        queryset = queryset.filter(
            Q(legal_name__icontains=term) | Q(registration_number__icontains=term) | Q(email__icontains=term)
        )
    return queryset


async def partners(
    actor: Actor,
    first: int,
    after: str | None,
    registration_status: RegistrationStatus | None = None,
    search: str | None = None,
    oldest_first: bool = False,
) -> Page[Partner]:
    """Newest first, or oldest first (registered), as a review queue is worked."""
    queryset = partners_matching(actor, registration_status, search)
    return await page(queryset, first, after, oldest_first=oldest_first)


async def _requests(visible: QuerySet, first: int, after: str | None, status: ReviewStatus | None,
                    oldest_first: bool, ids: list[str] | None) -> Page:
    """A page of the partners' requests the viewer may see, of one review status or all.
    `ids`: only these requests, e.g. the cards a manager had on screen, to say who decided
    the ones that left the queue, and when."""
    if status:
        visible = visible.filter(status=status)
    if ids is not None:
        if len(ids) > MAX_PAGE:
            raise DomainError(ErrorCode.INVALID_INPUT, f"Ask for at most {MAX_PAGE} ids.", "ids")
        visible = visible.filter(id__in=[inputs.parse_id("ids", i) for i in ids])
    return await page(visible, first, after, oldest_first=oldest_first)


async def info_change_requests(
    actor: Actor, first: int, after: str | None, status: ReviewStatus | None = None, oldest_first: bool = False,
    ids: list[str] | None = None,
) -> Page[InfoChangeRequest]:
    return await _requests(access.info_change_requests_visible_to(actor), first, after, status, oldest_first, ids)


async def non_renewal_requests(
    actor: Actor, first: int, after: str | None, status: ReviewStatus | None = None, oldest_first: bool = False,
    ids: list[str] | None = None,
) -> Page[NonRenewalRequest]:
    return await _requests(access.non_renewal_requests_visible_to(actor), first, after, status, oldest_first, ids)


async def audit_events(
    actor: Actor, contract_id: str | None, partner_id: str | None, first: int, after: str | None
) -> Page[AuditEvent]:
    """One contract's or one partner's events, oldest first (S-22)."""
    if contract_id:
        contract = await access.get_contract(actor, contract_id)
        queryset = AuditEvent.filter(contract_id=contract.id)
    elif partner_id:
        partner = await access.get_partner(actor, partner_id)
        queryset = AuditEvent.filter(partner_id=partner.id)
    else:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give a contractId or a partnerId.", "contractId")
    return await after_event(queryset, first, after)


async def contract_status_events(
    actor: Actor, contract_id: str | None, first: int, after: str | None
) -> Page[AuditEvent]:
    """Events that set a contract's status, oldest first: the ones the contract status
    subscription sends, of the contracts the actor may see."""
    queryset = access.audit_events_visible_to(actor).filter(
        contract_id__not_isnull=True, to_status__in=list(ContractStatus)
    )
    if contract_id:
        queryset = queryset.filter(contract_id=(await access.get_contract(actor, contract_id)).id)
    return await after_event(queryset, first, after)


async def notifications(actor: Actor, first: int, after: str | None, unread_only: bool = False) -> Page[Notification]:
    """The actor's own notices, newest first (S-25, S-5)."""
    queryset = notices.notifications_of(actor)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return await page(queryset, first, after)


async def partner_notifications(actor: Actor, partner_id: str, first: int, after: str | None) -> Page[Notification]:
    """What was sent about one partner, to its users and to managers, newest first: for the
    partner's channel manager and admins (S-5)."""
    access.require_manager(actor)
    partner = await access.get_partner(actor, partner_id)
    return await page(Notification.filter(partner_id=partner.id), first, after)


async def webhook_endpoints(actor: Actor, first: int, after: str | None) -> Page[WebhookEndpoint]:
    return await page(integrations.endpoints_visible_to(actor), first, after)


async def webhook_deliveries(
    actor: Actor, endpoint_id: str, first: int, after: str | None, status: DeliveryStatus | None = None
) -> Page[WebhookDelivery]:
    """One endpoint's delivery log, newest first (S-26)."""
    endpoint = await integrations.get_endpoint(actor, endpoint_id)
    queryset = WebhookDelivery.filter(endpoint_id=endpoint.id)
    if status:
        queryset = queryset.filter(status=status)
    return await page(queryset, first, after)
