"""Agents and customers: the rows of their users and profiles, each built from its position alone.

A ring member's address, phone or bank account (whichever the ring shares) is its first member's; everything else
about the customer is their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .plan import ADDRESS, AGENTS, BANK, CONTACTS, CUSTOMER_DETAILS, CUSTOMERS, PHONE, Plan, record_rng
from .pools import (
    PHONE_SPACE,
    REGION_SHARE,
    REGIONS,
    Pools,
    agent_licence,
    agent_username,
    customer_reference,
    customer_username,
)

_NOT_EMAIL = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Contact:
    address_line1: str
    city: str
    postal_code: str
    region: str
    phone: str
    bank_account: str


@dataclass(frozen=True)
class Person:
    """What the other stages read about a customer (a policy's holder, a claim's claimant)."""

    index: int
    first_name: str
    last_name: str
    sex: str
    date_of_birth: date
    contact: Contact

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _own_contact(plan: Plan, pools: Pools, index: int) -> Contact:
    rng = record_rng(plan.seed, CONTACTS, index)
    region = rng.choices(REGIONS, weights=REGION_SHARE)[0]
    city, postal_code = rng.choice(pools.places[region])
    return Contact(
        address_line1=pools.street_address(index, plan.seed),
        city=city,
        postal_code=postal_code,
        region=region,
        phone=pools.phone(index, plan.seed, region),
        bank_account=pools.bank_account(index, plan.seed),
    )


def contact(plan: Plan, pools: Pools, index: int) -> Contact:
    own = _own_contact(plan, pools, index)
    ring = int(plan.ring[index])
    if ring < 0 or int(plan.ring_leader[ring]) == index:
        return own
    leader = _own_contact(plan, pools, int(plan.ring_leader[ring]))
    shared = int(plan.ring_kind[ring])
    if shared == ADDRESS:
        fields = ("address_line1", "city", "postal_code", "region")
        return Contact(**{**vars(own), **{name: getattr(leader, name) for name in fields}})
    if shared == PHONE:
        return Contact(**{**vars(own), "phone": leader.phone})
    if shared == BANK:
        return Contact(**{**vars(own), "bank_account": leader.bank_account})
    return own


def person(plan: Plan, pools: Pools, index: int) -> Person:
    rng = record_rng(plan.seed, CUSTOMERS, index)
    sex = rng.choices(("F", "M", "X"), weights=(49, 49, 2))[0]
    first_pool = pools.female if sex == "F" or (sex == "X" and rng.random() < 0.5) else pools.male
    return Person(
        index=index,
        first_name=rng.choice(first_pool),
        last_name=rng.choice(pools.last),
        sex=sex,
        date_of_birth=plan.as_of - timedelta(days=int(plan.age_days[index])),
        contact=contact(plan, pools, index),
    )


def _joined(plan: Plan, rng, *, before_days: int) -> datetime:
    day = plan.as_of - timedelta(days=before_days + rng.randint(0, 900))
    return datetime.combine(day, time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=UTC)


def customer_rows(plan: Plan, pools: Pools, index: int) -> tuple[dict, dict]:
    """(user row, profile row without its user_id and agent_id)."""
    someone = person(plan, pools, index)
    rng = record_rng(plan.seed, CUSTOMER_DETAILS, index)
    local = _NOT_EMAIL.sub(".", f"{someone.first_name}.{someone.last_name}".lower()).strip(".")
    user = {
        "username": customer_username(index),
        "first_name": someone.first_name,
        "last_name": someone.last_name,
        "email": f"{local}.{index + 1}@example.{rng.choice(('com', 'net', 'org'))}",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "is_system": False,
        "date_joined": _joined(plan, rng, before_days=1100),
    }
    details = someone.contact
    profile = {
        "external_reference": customer_reference(index),
        "phone": details.phone,
        "date_of_birth": someone.date_of_birth,
        "address_line1": details.address_line1,
        "address_line2": rng.choice(("", "", "", "", f"Apt {rng.randint(1, 40)}")),
        "city": details.city,
        "postal_code": details.postal_code,
        "region": details.region,
        "country": "US",
        "sex": someone.sex,
        "bank_account": details.bank_account,
    }
    return user, profile


def agent_rows(plan: Plan, pools: Pools, index: int) -> tuple[dict, dict]:
    """(user row, profile row without its user_id)."""
    rng = record_rng(plan.seed, AGENTS, index)
    username = agent_username(index)
    user = {
        "username": username,
        "first_name": rng.choice(rng.choice((pools.female, pools.male))),
        "last_name": rng.choice(pools.last),
        "email": f"{username}@agency.example.com",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "is_system": False,
        "date_joined": _joined(plan, rng, before_days=1500),
    }
    profile = {
        "agency": pools.agencies[index % len(pools.agencies)],
        "licence_number": agent_licence(index),
        "phone": pools.phone(PHONE_SPACE - 1 - index, plan.seed, rng.choice(REGIONS)),
    }
    return user, profile
