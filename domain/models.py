"""Tortoise models. Rules live in lifecycle.py and the services, not here."""

from enum import StrEnum
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus, ReviewStatus


class Role(StrEnum):
    PARTNER = "PARTNER"
    CHANNEL_MANAGER = "CHANNEL_MANAGER"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"


class User(Model):
    partner_id: UUID | None  # the foreign keys' columns, for type checkers
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    # Null until the user sets a password from a one-time link (PasswordLink).
    password_hash = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(Role, max_length=20)
    # False once deactivated: no login, and its tokens stop working (sessions.signed_in).
    active = fields.BooleanField(default=True, db_default=True)
    partner = fields.ForeignKeyField(
        "models.Partner", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    # The language of the emails this person gets (BCP 47: "en", "zh-Hans").
    locale = fields.CharField(max_length=20, default="en", db_default="en")
    # Reminders and work alerts may be turned off; legal notices and decisions always go out.
    reminders_enabled = fields.BooleanField(default=True, db_default=True)
    # Second factor (managers and admins): the TOTP secret (base32), set at enrolment and
    # in force once confirmed with a code (totp_enabled_at); the last time step accepted,
    # so that one code cannot be used twice.
    totp_secret = fields.CharField(max_length=64, null=True)
    totp_enabled_at = fields.DatetimeField(null=True)
    totp_last_step = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Session(Model):
    """One login: the family of refresh tokens it hands out, and what every access token
    of it names (`sid`). Revoking it ends them all: each request and each subscription
    event checks it (domain/services/sessions.py)."""

    user_id: UUID
    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="sessions", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()
    # However often it is refreshed, a session ends this long after its login.
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # LOGGED_OUT, PASSWORD_CHANGED, REFRESH_TOKEN_REUSED, DEACTIVATED, REJECTED, ...
    revoked_reason = fields.CharField(max_length=40, null=True)

    class Meta:
        table = "sessions"
        indexes = (("user_id", "revoked_at"),)


class RefreshToken(Model):
    """An opaque refresh token, used once: using it hands out its successor (the child)
    and marks it used. Using a used one again means it was stolen, and revokes the family.
    Only its SHA-256 is stored."""

    family_id: UUID
    parent_id: UUID | None
    id = fields.UUIDField(primary_key=True)
    family = fields.ForeignKeyField("models.Session", related_name="refresh_tokens", on_delete=fields.CASCADE)
    parent = fields.ForeignKeyField(
        "models.RefreshToken", related_name="children", null=True, on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
        indexes = (("family_id", "revoked_at"),)  # revoking a family


class RecoveryCode(Model):
    """A single-use code that stands in for a TOTP code (a lost phone). Hashed (SHA-256 of
    a 50-bit random code, peppered with the user id)."""

    user_id: UUID
    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="recovery_codes", on_delete=fields.CASCADE)
    code_hash = fields.CharField(max_length=64, unique=True)
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "recovery_codes"


class PasswordLink(Model):
    """A one-time link to set a password: the first admin's, or an invited manager's. Only
    the token's SHA-256 is stored, so the database never holds a usable link."""

    user_id: UUID
    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="password_links", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    # Set when the link is used, or when it stops counting because another was used.
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "password_links"


class Partner(Model):
    manager_id: UUID | None
    reviewed_by_id: UUID | None
    id = fields.UUIDField(primary_key=True)
    legal_name = fields.CharField(max_length=200)
    registration_number = fields.CharField(max_length=64)
    address = fields.CharField(max_length=500)
    contact_name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254)
    phone = fields.CharField(max_length=32)
    registration_status = fields.CharEnumField(
        RegistrationStatus, max_length=20, default=RegistrationStatus.PENDING_REVIEW
    )
    review_comment = fields.TextField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    # Who approved or rejected the registration.
    reviewed_by = fields.ForeignKeyField(
        "models.User", related_name="registration_reviews", null=True, on_delete=fields.RESTRICT
    )
    manager = fields.ForeignKeyField(
        "models.User", related_name="managed_partners", null=True, on_delete=fields.RESTRICT
    )
    version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partners"
        indexes = (
            ("manager_id", "created_at"),
            ("registration_status", "created_at"),
            ("created_at", "id"),
        )


class ContractTemplate(Model):
    published_by_id: UUID | None
    id = fields.IntField(primary_key=True)
    version = fields.IntField(unique=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    # The admin who published it; null for the bundled versions and the command line.
    published_by = fields.ForeignKeyField(
        "models.User", related_name="published_templates", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contract_templates"


class Document(Model):
    """A sealed PDF, stored content-addressed by its SHA-256."""

    sha256 = fields.CharField(max_length=64, primary_key=True)
    size = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "documents"


class DocumentContent(Model):
    """A sealed PDF's bytes, in the database store (domain/documents/storage.py). A table of
    its own, so that loading a Document never drags its bytes along."""

    sha256 = fields.CharField(max_length=64, primary_key=True)
    content = fields.BinaryField()

    class Meta:
        table = "document_contents"


class Contract(Model):
    partner_id: UUID
    template_id: int
    predecessor_id: UUID | None
    signed_by_id: UUID | None
    document_id: str | None
    id = fields.UUIDField(primary_key=True)
    partner = fields.ForeignKeyField(
        "models.Partner", related_name="contracts", on_delete=fields.RESTRICT
    )
    template = fields.ForeignKeyField(
        "models.ContractTemplate", related_name="contracts", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(ContractKind, max_length=20)
    status = fields.CharEnumField(ContractStatus, max_length=20)
    # One successor per contract: a second renewal (a double click, two sweeps) cannot exist.
    predecessor = fields.OneToOneField(
        "models.Contract", related_name="successor", null=True, on_delete=fields.RESTRICT
    )
    partner_snapshot = fields.JSONField()
    regions = fields.JSONField(default=list)
    effective_on = fields.DateField(null=True)
    expires_on = fields.DateField(null=True)
    content_hash = fields.CharField(max_length=64, null=True)
    signed_at = fields.DatetimeField(null=True)
    signed_by = fields.ForeignKeyField(
        "models.User", related_name="signed_contracts", null=True, on_delete=fields.RESTRICT
    )
    signing_attempt = fields.IntField(default=0)
    signing_error = fields.TextField(null=True)
    sealed_at = fields.DatetimeField(null=True)
    document = fields.ForeignKeyField(
        "models.Document", related_name="contracts", null=True, on_delete=fields.RESTRICT
    )
    auto_renewed = fields.BooleanField(default=False)
    # Compare-and-set guard for every state change; row locks do nothing on SQLite.
    version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contracts"
        # Newest-first keyset pages, overall and by status; expiry windows.
        indexes = (
            ("partner_id", "created_at"),
            ("status", "expires_on"),
            ("created_at", "id"),
            ("status", "created_at", "id"),
        )


class ReviewedRequest(Model):
    """A partner's request that a manager approves or rejects (or the partner withdraws):
    its review, the same for every kind of request. Each kind names its own reviewer
    field, because the reverse relation on User differs."""

    status = fields.CharEnumField(ReviewStatus, max_length=20, default=ReviewStatus.IN_REVIEW)
    comment = fields.TextField(null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True


class InfoChangeRequest(ReviewedRequest):
    partner_id: UUID
    requested_by_id: UUID
    reviewer_id: UUID | None
    id = fields.UUIDField(primary_key=True)
    partner = fields.ForeignKeyField(
        "models.Partner", related_name="info_change_requests", on_delete=fields.RESTRICT
    )
    requested_by = fields.ForeignKeyField(
        "models.User", related_name="info_change_requests", on_delete=fields.RESTRICT
    )
    changes = fields.JSONField()
    previous = fields.JSONField()
    reason = fields.TextField()
    reviewer = fields.ForeignKeyField(
        "models.User", related_name="info_change_reviews", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "info_change_requests"
        indexes = (("status", "created_at"),)


class NonRenewalRequest(ReviewedRequest):
    """A partner's request not to renew a contract (S-15, S-16)."""

    contract_id: UUID
    partner_id: UUID
    requested_by_id: UUID
    reviewer_id: UUID | None
    id = fields.UUIDField(primary_key=True)
    contract = fields.ForeignKeyField(
        "models.Contract", related_name="non_renewal_requests", on_delete=fields.RESTRICT
    )
    partner = fields.ForeignKeyField(
        "models.Partner", related_name="non_renewal_requests", on_delete=fields.RESTRICT
    )
    requested_by = fields.ForeignKeyField(
        "models.User", related_name="non_renewal_requests", on_delete=fields.RESTRICT
    )
    # The contract information the partner verified when asking.
    confirmed = fields.JSONField()
    reason = fields.TextField(null=True)
    reviewer = fields.ForeignKeyField(
        "models.User", related_name="non_renewal_reviews", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "non_renewal_requests"
        indexes = (("status", "created_at"),)


class AuditEvent(Model):
    """Append-only (S-22). The id is a monotonically increasing cursor."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor_id = fields.UUIDField(null=True)
    actor_role = fields.CharEnumField(Role, max_length=20, null=True)
    action = fields.CharField(max_length=60)
    partner_id = fields.UUIDField(null=True)
    contract_id = fields.UUIDField(null=True)
    subject_id = fields.UUIDField(null=True)
    from_status = fields.CharField(max_length=30, null=True)
    to_status = fields.CharField(max_length=30, null=True)
    detail = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=64, null=True)
    client_ip = fields.CharField(max_length=64, null=True)
    # The event's place in the hash chain, and sha256(the previous link's chain_hash + this
    # event), both set by the worker's chainer after the event committed, so that an edit,
    # a removal or a reordering shows (S-22). The chain's order is the order in which the
    # chainer saw events commit, which no writer can set: see domain/audit_chain.py.
    chain_seq = fields.BigIntField(null=True, unique=True)
    chain_hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_events"
        indexes = (("contract_id", "id"), ("partner_id", "id"))


class AuditSeal(Model):
    """The chain's head at a moment, signed with the programme's key: a deletion of the
    newest events leaves no broken link, but it leaves the chain shorter than a seal."""

    id = fields.BigIntField(primary_key=True)
    chain_seq = fields.BigIntField()
    chain_hash = fields.CharField(max_length=64)
    sealed_at = fields.DatetimeField()
    signature = fields.TextField()

    class Meta:
        table = "audit_seals"


class EventCursor(Model):
    """How far one consumer of the audit log (the after-commit path) has come, as a
    position in the hash chain (AuditEvent.chain_seq)."""

    consumer = fields.CharField(max_length=60, primary_key=True)
    position = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "event_cursors"


class ReminderRecord(Model):
    """A reminder (domain/reminders.py) the sweep sent or found superseded: once per
    contract, term and kind, whichever sweep gets there first (S-25)."""

    key = fields.CharField(max_length=120, primary_key=True)
    contract_id = fields.UUIDField(null=True)
    kind = fields.CharField(max_length=40)
    due_on = fields.DateField()
    outcome = fields.CharField(max_length=20)
    reason = fields.CharField(max_length=40, null=True)
    days_late = fields.IntField(default=0)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "reminders"


class Notification(Model):
    """One notice to one person (S-25): shown in the product, and sent by email until it
    arrives. `key` deduplicates: a fact seen twice makes one notification."""

    user_id: UUID
    id = fields.UUIDField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    kind = fields.CharField(max_length=40)
    user = fields.ForeignKeyField("models.User", related_name="notifications", on_delete=fields.CASCADE)
    partner_id = fields.UUIDField(null=True)
    contract_id = fields.UUIDField(null=True)
    event_id = fields.BigIntField(null=True)
    data = fields.JSONField(default=dict)
    due_on = fields.DateField(null=True)
    days_late = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    # PENDING until sent; SKIPPED when the person turned this kind off; FAILED for good.
    email_status = fields.CharField(max_length=20)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("user_id", "created_at"), ("email_status", "next_attempt_at"), ("partner_id", "created_at"))


class WebhookEndpoint(Model):
    """Where an integration receives events (S-26): programme-wide (no partner, made by an
    admin) or one partner's own. The secret is shown once, when made or rotated."""

    partner_id: UUID | None
    created_by_id: UUID
    id = fields.UUIDField(primary_key=True)
    partner = fields.ForeignKeyField(
        "models.Partner", related_name="webhook_endpoints", null=True, on_delete=fields.RESTRICT
    )
    created_by = fields.ForeignKeyField("models.User", related_name="webhook_endpoints", on_delete=fields.RESTRICT)
    url = fields.CharField(max_length=2000)
    description = fields.CharField(max_length=200, default="")
    event_types = fields.JSONField(default=list)
    secret = fields.CharField(max_length=100)
    # The secret a rotation replaced: it signs too, for a day, so receivers can switch.
    previous_secret = fields.CharField(max_length=100, null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.TextField(null=True)
    failing_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_endpoints"


class WebhookDelivery(Model):
    """One event for one endpoint, tried until it is delivered or the endpoint gives up."""

    endpoint_id: UUID
    id = fields.UUIDField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    endpoint = fields.ForeignKeyField("models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE)
    message_id = fields.CharField(max_length=40)
    event_type = fields.CharField(max_length=60)
    event_id = fields.BigIntField(null=True)
    body = fields.TextField()
    status = fields.CharField(max_length=20)  # PENDING, DELIVERED, FAILED
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    claimed_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "created_at"))


class WebhookAttempt(Model):
    """The delivery log: every try, its answer and how long it took."""

    delivery_id: UUID
    id = fields.BigIntField(primary_key=True)
    delivery = fields.ForeignKeyField("models.WebhookDelivery", related_name="attempt_log", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    status_code = fields.IntField(null=True)
    latency_ms = fields.IntField(null=True)
    error = fields.TextField(null=True)

    class Meta:
        table = "webhook_attempts"
        # A delivery's log; also what deleting an endpoint cascades through.
        indexes = (("delivery_id", "id"),)
