"""Helpers for driving the API as a client does: GraphQL text as constants, plain HTTP."""

import httpx

from domain import clock
from domain.auth import hash_password
from domain.models import Role, User
from domain.services import sessions
from domain.settings import Settings

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
    ... on RegisterPartnerSuccess { partner { id registrationStatus manager { name email } } }
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


_password_hash: list[str] = []


def password_hash() -> str:
    """One real argon2 hash of PASSWORD for every staff user: hashing costs 0.1 s or more."""
    if not _password_hash:
        _password_hash.append(hash_password(PASSWORD))
    return _password_hash[0]


async def make_manager(email: str = "manager@programme.example", role: Role = Role.CHANNEL_MANAGER) -> User:
    return await User.create(email=email, name=email.split("@")[0], role=role, password_hash=password_hash())


async def token_for(settings: Settings, email: str) -> str:
    """The token `login` would return, without its password check (argon2 costs 0.1 s)."""
    user = await User.get(email=email)
    return (await sessions.start(user, clock.now(), settings)).access_token


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


async def manager_and_partner(client: httpx.AsyncClient, email: str) -> tuple[str, str, str, str]:
    """A channel manager, made and logged in, and a partner they approved; returns
    (manager token, partner token, partner id, contract id)."""
    user = await make_manager()
    manager = await login(client, user.email, PASSWORD)
    token, partner_id, contract_id = await approved_partner(client, manager, email)
    return manager, token, partner_id, contract_id


async def preview_hash(client: httpx.AsyncClient, token: str, contract_id: str, regions: list[str]) -> str:
    result = (await gql(client, PREVIEW, {"id": contract_id, "regions": regions}, token))["contract"]
    assert result["preview"]["__typename"] == "ContractPreview", result
    return result["preview"]["contentHash"]


NON_RENEW = """
mutation NonRenew($input: NonRenewContractInput!) {
  nonRenewContract(input: $input) {
    __typename
    ... on NonRenewalSuccess { request { id status } }
    ... on OperationError { code message field }
  }
}
"""

REJECT = """
mutation Reject($partnerId: ID!, $comment: String!) {
  rejectRegistration(partnerId: $partnerId, comment: $comment) {
    __typename
    ... on RegistrationDecisionSuccess { partner { id registrationStatus reviewComment } }
    ... on OperationError { code message field }
  }
}
"""

REQUEST_INFO_CHANGE = """
mutation Change($input: RequestInfoChangeInput!) {
  requestInfoChange(input: $input) {
    __typename
    ... on InfoChangeRequestSuccess { request { id status reason changes { field before after } } }
    ... on OperationError { code message field }
  }
}
"""

REQUEST_ADDRESS_CHANGE = """
mutation { requestInfoChange(input: {address: "Neue Strasse 2, 10115 Berlin", reason: "We moved"}) { __typename } }
"""

REVIEW_INFO_CHANGE = """
mutation Review($id: ID!, $approve: Boolean!, $comment: String) {
  reviewInfoChange(requestId: $id, approve: $approve, comment: $comment) {
    __typename
    ... on InfoChangeRequestSuccess { request { id status comment } }
    ... on OperationError { code message field }
  }
}
"""

REVIEW_NON_RENEWAL = """
mutation Review($id: ID!, $approve: Boolean!, $comment: String) {
  reviewNonRenewal(requestId: $id, approve: $approve, comment: $comment) {
    __typename
    ... on NonRenewalSuccess { request { id status } }
    ... on OperationError { code message field }
  }
}
"""

SET_PASSWORD = """
mutation Set($token: String!, $password: String!) {
  setPassword(token: $token, password: $password) {
    __typename
    ... on SetPasswordSuccess { viewer { id email role } }
    ... on OperationError { code message field }
  }
}
"""

AUDIT_EVENTS = """
query Events($contractId: ID, $partnerId: ID) {
  auditEvents(contractId: $contractId, partnerId: $partnerId, first: 500) {
    nodes { action actorRole actorId fromStatus toStatus partnerId contractId detail }
  }
}
"""


async def post(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """The whole GraphQL response, errors included."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def error_code(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> str:
    """The extensions.code of a query refused with a GraphQL error (list queries)."""
    body = await post(client, query, variables, token)
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def sign_with_preview(client: httpx.AsyncClient, token: str, contract_id: str, regions: list[str]) -> dict:
    content_hash = await preview_hash(client, token, contract_id, regions)
    sign = {"contractId": contract_id, "regions": regions, "acknowledged": True, "contentHash": content_hash}
    return (await gql(client, SIGN, {"input": sign}, token))["signContract"]
