"""The demo personas `make run` creates: one user per role, with fixed, printed credentials (never in production)."""

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from insurance.core.roles import Role

from . import services
from .models import AgentProfile, User


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    password: str
    first_name: str
    last_name: str


DEMO_PASSWORD_SUFFIX = "-demo-2026"
DEMO_AGENT = DemoUser("agnes", Role.AGENT, "agnes" + DEMO_PASSWORD_SUFFIX, "Agnes", "Agent")
DEMO_USERS = (
    DEMO_AGENT,
    DemoUser("alice", Role.CUSTOMER, "alice" + DEMO_PASSWORD_SUFFIX, "Alice", "Customer"),
    DemoUser("uma", Role.UNDERWRITER, "uma" + DEMO_PASSWORD_SUFFIX, "Uma", "Underwriter"),
    DemoUser("admin", Role.ADMIN, "admin" + DEMO_PASSWORD_SUFFIX, "Ada", "Admin"),
    DemoUser("bi", Role.ANALYTICS_READER, "bi" + DEMO_PASSWORD_SUFFIX, "Business", "Intelligence"),
)


@transaction.atomic
def create_demo_users(*, actor: User) -> list[tuple[DemoUser, bool]]:
    """Create the personas that are missing; returns each with whether it was created now."""
    result = []
    for demo in DEMO_USERS:
        if User.objects.filter(username=demo.username).exists():
            result.append((demo, False))
            continue
        extra = {}
        if demo.role == Role.AGENT:
            extra = {"agency": "Demo Agency Ltd", "licence_number": "DEMO-AG-0001"}
        elif demo.role == Role.CUSTOMER:
            extra = {
                "agent": AgentProfile.objects.get(user__username=DEMO_AGENT.username),
                "customer_details": {
                    "city": "Columbus",
                    "postal_code": "43215",
                    "region": "OH",
                    "country": "US",
                    "date_of_birth": date(1986, 4, 12),
                },
            }
        services.user_create(
            actor=actor,
            username=demo.username,
            role=demo.role,
            password=demo.password,
            email=f"{demo.username}@example.com",
            first_name=demo.first_name,
            last_name=demo.last_name,
            **extra,
        )
        result.append((demo, True))
    return result
