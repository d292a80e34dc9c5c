"""Rows the API looks up. Most are batch loads for its per-request DataLoaders: each takes
a list of ids and answers in the same order, None where there is nothing, in one or two
queries for any number of ids."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

from tortoise.functions import Max

from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import HOLDS_RENEWAL
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    Document,
    NonRenewalRequest,
    Partner,
    User,
    WebhookAttempt,
)
from domain.services import access

M = TypeVar("M", Partner, User, ContractTemplate, Contract, Document)


def _in_order(rows: dict[Any, Any], ids: Iterable[Any]) -> list[Any]:
    return [rows.get(i) for i in ids]


async def _by_id(model: type[M], ids: list[Any]) -> list[M | None]:
    return _in_order({row.pk: row for row in await model.filter(pk__in=set(ids))}, ids)


async def partners(ids: list[UUID]) -> list[Partner | None]:
    return await _by_id(Partner, ids)


async def users(ids: list[UUID]) -> list[User | None]:
    return await _by_id(User, ids)


async def templates(ids: list[UUID]) -> list[ContractTemplate | None]:
    return await _by_id(ContractTemplate, ids)


async def contracts(ids: list[UUID]) -> list[Contract | None]:
    return await _by_id(Contract, ids)


async def documents(digests: list[str]) -> list[Document | None]:
    return await _by_id(Document, digests)


async def latest_events(contract_ids: list[UUID]) -> list[AuditEvent | None]:
    """Each contract's newest audit event, in two queries for any number of contracts."""
    newest = await (
        AuditEvent.filter(contract_id__in=set(contract_ids))
        .annotate(newest=Max("id"))
        .group_by("contract_id")
        .values_list("newest", flat=True)
    )
    rows = await AuditEvent.filter(id__in=list(newest))
    return _in_order({row.contract_id: row for row in rows}, contract_ids)


async def successors(contract_ids: list[UUID]) -> list[Contract | None]:
    """Each contract's renewal, once there is one."""
    rows = await Contract.filter(predecessor_id__in=set(contract_ids))
    return _in_order({row.predecessor_id: row for row in rows}, contract_ids)


async def non_renewal_holds(contract_ids: list[UUID]) -> list[NonRenewalRequest | None]:
    """The request that holds a contract's renewal: in review, or approved."""
    rows = await NonRenewalRequest.filter(contract_id__in=set(contract_ids), status__in=HOLDS_RENEWAL)
    return _in_order({row.contract_id: row for row in rows}, contract_ids)


async def webhook_attempts(delivery_ids: list[UUID]) -> list[list[WebhookAttempt]]:
    """Each delivery's tries, oldest first."""
    tries: dict[Any, list[WebhookAttempt]] = defaultdict(list)
    for row in await WebhookAttempt.filter(delivery_id__in=set(delivery_ids)).order_by("id"):
        tries[row.delivery_id].append(row)  # type: ignore[attr-defined]
    return [tries.get(i, []) for i in delivery_ids]


async def signed_document(actor: Actor, contract_id: str) -> Document:
    """The sealed document of a contract the actor may see (S-5, S-12)."""
    contract = await access.get_contract(actor, contract_id)
    if contract.document_id is None:
        raise DomainError(ErrorCode.INVALID_STATE, "This contract has no signed document yet.", "contractId")
    return await Document.get(sha256=contract.document_id)
