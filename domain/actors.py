from dataclasses import dataclass
from uuid import UUID

from domain.models import Role


@dataclass(frozen=True)
class Actor:
    """Who acts, and the request it came in on (S-22)."""

    role: Role | None
    user_id: UUID | None = None
    partner_id: UUID | None = None
    request_id: str | None = None
    client_ip: str | None = None
    # Without a role: why the bearer token it came with was refused (TOKEN_EXPIRED,
    # SESSION_REVOKED), so that the refusal says whether to refresh or to log in.
    refused: str | None = None

    @property
    def is_partner(self) -> bool:
        return self.role is Role.PARTNER

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.CHANNEL_MANAGER, Role.ADMIN)


ANONYMOUS = Actor(role=None)


def system(request_id: str | None = None) -> Actor:
    return Actor(role=Role.SYSTEM, request_id=request_id)
