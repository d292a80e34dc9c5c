"""The managers' overview: the programme's figures, as the dashboard shows them."""

from datetime import date, datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from domain.lifecycle import ContractStatus, RegistrationStatus
from domain.services import overview as figures
from domain.services.overview import EXPIRING_WITHIN_DAYS
from gql_api.context import Context
from gql_api.types import copy_fields, seconds_since

ReviewKindType = strawberry.enum(figures.ReviewKind, description="What waits in the review queue.")


@strawberry.type(description="Partners in one registration status.")
class RegistrationStatusCount:
    status: RegistrationStatus = strawberry.field(description="Registration status.")
    count: int = strawberry.field(description="How many partners.")


@strawberry.type(description="Contracts in one status.")
class ContractStatusCount:
    status: ContractStatus = strawberry.field(description="Contract status.")
    count: int = strawberry.field(description="How many contracts.")


@strawberry.type(description="Contracts in force whose last day is within N days.")
class ExpiringCount:
    within_days: int = strawberry.field(description="N: daysLeft from 0 to N.")
    count: int = strawberry.field(description="How many contracts.")


@strawberry.type(description="Requests of one kind waiting for a decision, and the oldest.")
class PendingReviewCount:
    kind: figures.ReviewKind = strawberry.field(description="Registrations, information changes or non-renewals.")
    count: int = strawberry.field(description="How many wait.")
    oldest_since: Optional[datetime] = strawberry.field(description="When the oldest was submitted.")
    oldest_age_seconds: Optional[int] = strawberry.field(description="How long the oldest has waited.")


@strawberry.type(description="From the partner's signature to the sealed document (S-10).")
class SigningLatency:
    since: datetime = strawberry.field(description="Signings from this time on are counted.")
    signings: int = strawberry.field(description="Partner signings sealed since then.")
    average_seconds: Optional[float] = strawberry.field(description="Average seconds to seal.")
    max_seconds: Optional[float] = strawberry.field(description="Longest seconds to seal.")


@strawberry.type(description="Contracts in force whose last day falls in one month.")
class MonthCount:
    month: str = strawberry.field(description="YYYY-MM.")
    count: int = strawberry.field(description="How many contracts.")


@strawberry.type(description="Contracts sealed on one business day.")
class DayCount:
    day: date = strawberry.field(description="The business date.")
    count: int = strawberry.field(description="How many contracts.")


@strawberry.type(description="The programme's figures for the viewer's partners (all, for an admin).")
class Overview:
    as_of: datetime = strawberry.field(
        description="When these figures were computed: they are kept a few seconds (OVERVIEW_CACHE_SECONDS)."
    )
    today: date = strawberry.field(description="The business date the figures are for.")
    partners_by_registration_status: list[RegistrationStatusCount] = strawberry.field(
        description="Partners by registration status."
    )
    contracts_by_status: list[ContractStatusCount] = strawberry.field(description="Contracts by status.")
    expiring: list[ExpiringCount] = strawberry.field(
        description="Contracts in force expiring within "
        + ", ".join(map(str, EXPIRING_WITHIN_DAYS[:-1])) + f" and {EXPIRING_WITHIN_DAYS[-1]} days."
    )
    pending_reviews: list[PendingReviewCount] = strawberry.field(
        description="The review queue: how many wait, and for how long."
    )
    signing_latency: SigningLatency = strawberry.field(
        description=f"Signing latency over the last {figures.SIGNING_DAYS} days."
    )
    expiries_by_month: list[MonthCount] = strawberry.field(
        description=f"Contracts in force by the month of their last day: this month and the next {figures.EXPIRY_MONTHS - 1}."
    )
    signings_by_day: list[DayCount] = strawberry.field(
        description=f"Contracts sealed per business day, the last {figures.SIGNING_DAYS} days."
    )


async def resolve_overview(info: Info[Context, None]) -> Overview:
    ctx = info.context
    data = await figures.cached_overview(ctx.actor, ctx.now, ctx.settings)
    return Overview(
        as_of=data.as_of,
        today=data.today,
        partners_by_registration_status=[
            RegistrationStatusCount(status=s, count=n) for s, n in data.partners_by_registration_status.items()
        ],
        contracts_by_status=[ContractStatusCount(status=s, count=n) for s, n in data.contracts_by_status.items()],
        expiring=[ExpiringCount(within_days=d, count=n) for d, n in data.expiring_within.items()],
        pending_reviews=[
            copy_fields(PendingReviewCount, p, oldest_age_seconds=seconds_since(p.oldest_since, ctx.now))
            for p in data.pending_reviews
        ],
        signing_latency=copy_fields(SigningLatency, data.signing_latency),
        expiries_by_month=[MonthCount(month=m, count=n) for m, n in data.expiries_by_month],
        signings_by_day=[DayCount(day=d, count=n) for d, n in data.signings_by_day],
    )


overview_field = strawberry.field(
    resolver=resolve_overview,
    description="Managers: the programme's figures for their partners (all, for an admin).",
)
