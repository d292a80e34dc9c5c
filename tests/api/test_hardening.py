"""Issue #14's attacks, each replayed against the API to show that it now fails."""

from domain.models import AuditEvent
from tests.gql import (
    AUDIT_EVENTS,
    PARTNER_INFO,
    PASSWORD,
    REGISTER,
    REQUEST_INFO_CHANGE,
    approved_partner,
    gql,
    login,
    make_manager,
)

MANAGER = "manager@programme.example"


async def register_as(client, email: str, **info) -> dict:
    variables = {"input": {**PARTNER_INFO, "email": email, "password": PASSWORD, **info}}
    return (await gql(client, REGISTER, variables))["registerPartner"]


# --- finding 6: lookalikes ------------------------------------------------------------------


async def test_bidi_and_zero_width_characters_in_a_legal_name_are_refused(client, database):
    for n, sneaky in enumerate(["Contoso \u202eHbmG rellese\u202cR", "Contoso\u200b Reseller GmbH",
                                "\u2066Contoso Reseller GmbH\u2069"]):
        result = await register_as(client, f"sneaky{n}@example.com", legalName=sneaky)
        assert (result["__typename"], result["code"], result["field"]) == (
            "OperationError", "INVALID_INPUT", "legalName"), result
    assert await AuditEvent.filter(action="REGISTRATION_SUBMITTED").count() == 0


async def test_a_lookalike_legal_name_is_flagged_to_the_reviewing_manager(client, database):
    await make_manager(MANAGER)
    real = await register_as(client, "real@contoso.example", legalName="Contoso Reseller GmbH")
    fake = await register_as(client, "fake@contoso.example", legalName="C\u043entoso Reseller GmbH")
    token = await login(client, MANAGER, PASSWORD)

    async def submitted(partner_id: str) -> dict:
        events = (await gql(client, AUDIT_EVENTS, {"partnerId": partner_id}, token))["auditEvents"]["nodes"]
        return next(e for e in events if e["action"] == "REGISTRATION_SUBMITTED")["detail"]

    assert "lookalike" not in (await submitted(real["partner"]["id"]) or {})
    assert "mixes Cyrillic and Latin" in (await submitted(fake["partner"]["id"]))["lookalike"]


async def test_a_lookalike_name_asked_for_in_an_information_change_is_flagged(client, database):
    await make_manager(MANAGER)
    manager = await login(client, MANAGER, PASSWORD)
    partner, partner_id, _ = await approved_partner(client, manager, "anna@acme.example")
    change = {"legalName": "Acme Cl\u043eud GmbH", "reason": "We renamed."}
    requested = (await gql(client, REQUEST_INFO_CHANGE, {"input": change}, partner))["requestInfoChange"]
    assert requested["__typename"] == "InfoChangeRequestSuccess", requested
    events = (await gql(client, AUDIT_EVENTS, {"partnerId": partner_id}, manager))["auditEvents"]["nodes"]
    detail = next(e for e in events if e["action"] == "INFO_CHANGE_REQUESTED")["detail"]
    assert detail["fields"] == ["legal_name"] and "mixes Cyrillic and Latin" in detail["lookalike"]
