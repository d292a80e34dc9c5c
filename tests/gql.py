"""Helpers for driving the API as a client does: GraphQL text as constants, plain HTTP."""

import httpx

from domain.auth import hash_password
from domain.models import Role, User

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename
    ... on LoginSuccess { token viewer { id role consoleAccess } }
    ... on OperationError { code message field }
  }
}
"""

REGISTER = """
mutation Register($input: RegisterPartnerInput!) {
  registerPartner(input: $input) {
    __typename
    ... on RegisterPartnerSuccess { partner { id registrationStatus manager { email } } }
    ... on OperationError { code message field }
  }
}
"""

APPROVE = """
mutation Approve($partnerId: ID!, $comment: String) {
  approveRegistration(partnerId: $partnerId, comment: $comment) {
    __typename
    ... on RegistrationDecisionSuccess { partner { id registrationStatus } }
    ... on OperationError { code message field }
  }
}
"""

CONTRACTS = """
query { contracts(first: 20) { nodes { id status kind contentHash regions { code } } } }
"""

PREVIEW = """
query Preview($id: ID!, $regions: [String!]!) {
  contract(id: $id) {
    __typename
    ... on Contract {
      preview(regions: $regions) {
        __typename
        ... on ContractPreview { contentHash text effectiveOn expiresOn }
        ... on OperationError { code message field }
      }
    }
    ... on OperationError { code message field }
  }
}
"""

SIGN = """
mutation Sign($input: SignContractInput!) {
  signContract(input: $input) {
    __typename
    ... on SignContractSuccess { contract { id status } }
    ... on OperationError { code message field }
  }
}
"""

CONTRACT = """
query Contract($id: ID!) {
  contract(id: $id) {
    __typename
    ... on Contract {
      id status kind effectiveOn expiresOn daysLeft signedAt sealedAt signingError
      contentHash templateVersion
      partnerSnapshot { legalName address email phone }
      regions { code name }
      document { sha256 size url }
    }
    ... on OperationError { code message field }
  }
}
"""

CONSOLE = """
query { partnerConsole { __typename
  ... on PartnerConsole { contractsInForce }
  ... on OperationError { code message } } }
"""

PARTNER_INFO = {
    "legalName": "Acme Cloud GmbH",
    "registrationNumber": "HRB 98765",
    "address": "Hauptstrasse 1, 10115 Berlin",
    "contactName": "Anna Schmidt",
    "phone": "+49 30 1234567",
}
PASSWORD = "a-long-partner-password"


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    result = (await gql(client, LOGIN, {"email": email, "password": password}))["login"]
    assert result["__typename"] == "LoginSuccess", result
    return result["token"]


async def make_manager(email: str = "manager@programme.example", role: Role = Role.CHANNEL_MANAGER) -> User:
    return await User.create(email=email, name=email.split("@")[0], role=role, password_hash=hash_password(PASSWORD))


async def register(client: httpx.AsyncClient, email: str, **overrides) -> str:
    result = (await gql(client, REGISTER, {"input": {**PARTNER_INFO, "email": email, "password": PASSWORD, **overrides}}))["registerPartner"]
    assert result["__typename"] == "RegisterPartnerSuccess", result
    return result["partner"]["id"]


async def approved_partner(client: httpx.AsyncClient, manager_token: str, email: str) -> tuple[str, str, str]:
    """Register and approve a partner; returns (partner token, partner id, contract id)."""
    partner_id = await register(client, email)
    approved = (await gql(client, APPROVE, {"partnerId": partner_id}, manager_token))["approveRegistration"]
    assert approved["__typename"] == "RegistrationDecisionSuccess", approved
    token = await login(client, email, PASSWORD)
    contracts = (await gql(client, CONTRACTS, token=token))["contracts"]["nodes"]
    assert len(contracts) == 1
    return token, partner_id, contracts[0]["id"]


async def preview_hash(client: httpx.AsyncClient, token: str, contract_id: str, regions: list[str]) -> str:
    result = (await gql(client, PREVIEW, {"id": contract_id, "regions": regions}, token))["contract"]
    assert result["preview"]["__typename"] == "ContractPreview", result
    return result["preview"]["contentHash"]
