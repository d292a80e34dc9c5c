"""The GraphQL the dashboard sends. schema.graphql is the contract."""

ERROR = "... on OperationError { code message field }"

LOGIN = f"""
mutation SignIn($email: String!, $password: String!, $code: String) {{
  login(email: $email, password: $password, code: $code) {{
    __typename
    ... on LoginSuccess {{ token expiresAt refreshToken refreshExpiresAt sessionExpiresAt viewer {{ id name email role }} }}
    {ERROR}
  }}
}}
"""

REFRESH = f"""
mutation Refresh($refreshToken: String!) {{
  refreshSession(refreshToken: $refreshToken) {{
    __typename
    ... on LoginSuccess {{ token expiresAt refreshToken refreshExpiresAt sessionExpiresAt viewer {{ id name email role }} }}
    {ERROR}
  }}
}}
"""

LOGOUT = f"mutation SignOut {{ logout {{ __typename ... on LogoutSuccess {{ sessionsEnded }} {ERROR} }} }}"

MARKETS = "query Markets { markets { code name } }"

PARTNER_INFO = "info { legalName registrationNumber address contactName email phone }"

REVIEW_QUEUE = f"""
query ReviewQueue($registrations: String, $infoChanges: String, $nonRenewals: String) {{
  partners(first: 20, after: $registrations, registrationStatus: PENDING_REVIEW, oldestFirst: true) {{
    nodes {{ id registeredAt {PARTNER_INFO} manager {{ name }} }}
    pageInfo {{ endCursor hasNextPage }}
    totalCount
  }}
  infoChangeRequests(first: 20, after: $infoChanges, status: IN_REVIEW, oldestFirst: true) {{
    nodes {{
      id createdAt reason changes {{ field before after }}
      partner {{ id info {{ legalName }} }}
    }}
    pageInfo {{ endCursor hasNextPage }}
    totalCount
  }}
  nonRenewalRequests(first: 20, after: $nonRenewals, status: IN_REVIEW, oldestFirst: true) {{
    nodes {{
      id createdAt reason
      partner {{ id info {{ legalName }} }}
      contract {{
        id kind status effectiveOn expiresOn daysLeft nonRenewalAllowedUntil
        regions {{ code }} renewalWindow {{ opensOn closesOn }}
      }}
    }}
    pageInfo {{ endCursor hasNextPage }}
    totalCount
  }}
}}
"""

APPROVE_REGISTRATION = f"""
mutation ApproveRegistration($id: ID!, $comment: String) {{
  decision: approveRegistration(partnerId: $id, comment: $comment) {{
    __typename
    ... on RegistrationDecisionSuccess {{ partner {{ id registrationStatus }} }}
    {ERROR}
  }}
}}
"""

REJECT_REGISTRATION = f"""
mutation RejectRegistration($id: ID!, $comment: String!) {{
  decision: rejectRegistration(partnerId: $id, comment: $comment) {{
    __typename
    ... on RegistrationDecisionSuccess {{ partner {{ id registrationStatus }} }}
    {ERROR}
  }}
}}
"""

REVIEW_INFO_CHANGE = f"""
mutation ReviewInfoChange($id: ID!, $approve: Boolean!, $comment: String) {{
  decision: reviewInfoChange(requestId: $id, approve: $approve, comment: $comment) {{
    __typename
    ... on InfoChangeRequestSuccess {{ request {{ id status }} }}
    {ERROR}
  }}
}}
"""

REVIEW_NON_RENEWAL = f"""
mutation ReviewNonRenewal($id: ID!, $approve: Boolean!, $comment: String) {{
  decision: reviewNonRenewal(requestId: $id, approve: $approve, comment: $comment) {{
    __typename
    ... on NonRenewalSuccess {{ request {{ id status contract {{ renewalStatus }} }} }}
    {ERROR}
  }}
}}
"""

PUSHED_CONTRACTS = """
query PushedContracts($partnerId: ID!) {
  contracts(first: 5, partnerId: $partnerId) { nodes { id kind status } }
}
"""

PARTNERS = """
query Partners($after: String, $search: String, $status: RegistrationStatus) {
  partners(first: 20, after: $after, search: $search, registrationStatus: $status) {
    nodes {
      id registrationStatus registeredAt consoleAccess
      info { legalName registrationNumber email }
      manager { name }
    }
    pageInfo { endCursor hasNextPage }
    totalCount
  }
}
"""

SENT_SHOWN = 50  # the newest notices on a partner's page

CONTRACT_ROW = """
id kind status effectiveOn expiresOn daysLeft renewalStatus
regions { code }
"""

PARTNER = f"""
query Partner($id: ID!, $after: ID) {{
  partner(id: $id) {{
    __typename
    ... on Partner {{
      id registrationStatus reviewComment registeredAt reviewedAt consoleAccess
      reviewedBy {{ name }}
      {PARTNER_INFO}
      manager {{ name email }}
    }}
    {ERROR}
  }}
  contracts(first: 50, partnerId: $id) {{ nodes {{ {CONTRACT_ROW} }} totalCount }}
  auditEvents(partnerId: $id, first: 100, after: $after) {{
    nodes {{ id at action actorRole actorName fromStatus toStatus contractId detail }}
    totalCount
    pageInfo {{ endCursor hasNextPage }}
  }}
  partnerNotifications(partnerId: $id, first: {SENT_SHOWN}) {{
    nodes {{
      id kind subject createdAt emailStatus sentAt lastError daysLate contractId
      recipient {{ name email role }}
    }}
    pageInfo {{ hasNextPage }}
  }}
}}
"""

CONTRACTS = f"""
query Contracts(
  $after: String, $status: ContractStatus, $renewalStatus: RenewalStatus, $region: String,
  $expiringWithinDays: Int
) {{
  contracts(
    first: 20, after: $after, status: $status, renewalStatus: $renewalStatus, region: $region,
    expiringWithinDays: $expiringWithinDays
  ) {{
    nodes {{ {CONTRACT_ROW} partner {{ id info {{ legalName }} }} }}
    pageInfo {{ endCursor hasNextPage }}
    totalCount
  }}
}}
"""

CONTRACT = f"""
query Contract($id: ID!, $after: ID) {{
  contract(id: $id) {{
    __typename
    ... on Contract {{
      id kind status effectiveOn expiresOn daysLeft templateVersion contentHash
      signedAt sealedAt signingError autoRenewed createdAt renewalStatus nonRenewalAllowedUntil
      regions {{ code name }}
      renewalWindow {{ opensOn closesOn isOpen }}
      nonRenewalRequest {{ id status reason }}
      predecessor {{ id }}
      successor {{ id status }}
      document {{ sha256 size url }}
      partner {{ id info {{ legalName }} }}
    }}
    {ERROR}
  }}
  auditEvents(contractId: $id, first: 100, after: $after) {{
    nodes {{ id at action actorRole actorName fromStatus toStatus detail }}
    totalCount
    pageInfo {{ endCursor hasNextPage }}
  }}
}}
"""

DOCUMENT_CHECK = f"""
query DocumentCheck($id: ID!) {{
  documentCheck(contractId: $id) {{
    __typename
    ... on DocumentCheck {{ sha256 sha256Matches signatureIntact signatureTrusted coversWholeFile valid }}
    {ERROR}
  }}
}}
"""

REMIND_PARTNER = f"""
mutation RemindPartner($id: ID!) {{
  remindPartnerToSign(contractId: $id) {{
    __typename
    ... on RemindPartnerSuccess {{ contract {{ id status }} }}
    {ERROR}
  }}
}}
"""

OVERVIEW = """
query Overview {
  overview {
    asOf
    today
    partnersByRegistrationStatus { status count }
    contractsByStatus { status count }
    expiring { withinDays count }
    pendingReviews { kind count oldestSince oldestAgeSeconds }
    signingLatency { since signings averageSeconds maxSeconds }
    expiriesByMonth { month count }
    signingsByDay { day count }
  }
}
"""

SET_PASSWORD = f"""
mutation SetPassword($token: String!, $password: String!) {{
  setPassword(token: $token, password: $password) {{
    __typename
    ... on SetPasswordSuccess {{ viewer {{ email }} }}
    {ERROR}
  }}
}}
"""

REGISTRATION_DECIDED = """
query RegistrationDecided($id: ID!) {
  partner(id: $id) {
    __typename
    ... on Partner { registrationStatus reviewedAt reviewComment reviewedBy { id name } }
  }
}
"""

# Who decided a request that left the queue, and when: the list, narrowed to its id. Each
# document stands alone, so that `trusted-documents` finds it (it reads this module's strings).
INFO_CHANGE_DECIDED = """
query InfoChangeDecided($ids: [ID!]) {
  requests: infoChangeRequests(first: 1, ids: $ids) {
    nodes { status decidedAt comment decidedBy { id name } }
  }
}
"""
NON_RENEWAL_DECIDED = """
query NonRenewalDecided($ids: [ID!]) {
  requests: nonRenewalRequests(first: 1, ids: $ids) {
    nodes { status decidedAt comment decidedBy { id name } }
  }
}
"""

DECIDE_REGISTRATIONS = f"""
mutation DecideRegistrations($ids: [ID!]!, $approve: Boolean!, $comment: String) {{
  decision: decideRegistrations(partnerIds: $ids, approve: $approve, comment: $comment) {{
    __typename
    ... on DecideRegistrationsSuccess {{
      decided
      results {{ partnerId partner {{ id registrationStatus }} error {{ code message }} }}
    }}
    {ERROR}
  }}
}}
"""

WORKLOAD = """
query Workload($all: Boolean!) {
  workload(includeDeactivated: $all) {
    manager { id name email status }
    partners openReviews oldestOpenSince oldestWaitSeconds
  }
}
"""

PARTNERS_TO_MOVE = """
query PartnersToMove($search: String) {
  partners(first: 100, search: $search) { nodes { id info { legalName } manager { id name } } }
}
"""

INVITE_MANAGER = f"""
mutation InviteManager($email: String!, $name: String!) {{
  inviteManager(email: $email, name: $name) {{
    __typename
    ... on InviteManagerSuccess {{ manager {{ id name }} setPasswordLink linkExpiresAt }}
    {ERROR}
  }}
}}
"""

REASSIGN_PARTNERS = f"""
mutation ReassignPartners($ids: [ID!]!, $to: ID!) {{
  reassignPartners(partnerIds: $ids, toManagerId: $to) {{
    __typename
    ... on ReassignPartnersSuccess {{ moved }}
    {ERROR}
  }}
}}
"""

DEACTIVATE_MANAGER = f"""
mutation DeactivateManager($id: ID!, $to: ID) {{
  deactivateManager(managerId: $id, reassignTo: $to) {{
    __typename
    ... on DeactivateManagerSuccess {{ manager {{ name }} partnersReassigned }}
    {ERROR}
  }}
}}
"""

TEMPLATES = """
query Templates {
  contractTemplates { version title body publishedAt contracts inForce publishedBy }
}
"""

TEMPLATE_DRAFT = f"""
query TemplateDraft($title: String!, $body: String!) {{
  templateDraft(title: $title, body: $body) {{
    __typename
    ... on TemplateDraft {{ version title preview diff againstVersion unsignedContracts }}
    {ERROR}
  }}
}}
"""

PUBLISH_TEMPLATE = f"""
mutation PublishTemplate($title: String!, $body: String!) {{
  publishTemplate(title: $title, body: $body) {{
    __typename
    ... on PublishTemplateSuccess {{ template {{ version }} contractsMoved }}
    {ERROR}
  }}
}}
"""
