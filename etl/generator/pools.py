"""Identifiers and the Faker pools that names, streets and places are drawn from.

Identifiers live in their own number space (GP-, GC-, GEN-C, gen-c), so they never collide with the numbers the
system issues (POL-YYYY-NNNNNN, CLM-YYYY-NNNNNN). Faker is asked once per run for pools of names and places, seeded
by the seed; a record then picks from the pools with its own generator, which is fast enough for a million records.
Phones, bank accounts and street addresses come from bijections of the position, so two customers share one only
when the plan puts them in a ring.
"""

from __future__ import annotations

from dataclasses import dataclass

from faker import Faker

REGIONS = ("OH", "IL", "IN")
REGION_SHARE = (0.4, 0.35, 0.25)
AREA_CODES = {"OH": ("614", "216", "513", "330"), "IL": ("312", "773", "217", "630"), "IN": ("317", "219", "812")}
ADDRESS_SPACE = 2**24  # street numbers up to ADDRESS_SPACE // len(streets)
PHONE_SPACE = 10**7
ACCOUNT_SPACE = 10**10
AGENCY_SUFFIXES = ("Insurance Agency", "Insurance Group", "& Associates Insurance", "Insurance Services", "Brokers")


def policy_number(index: int) -> str:
    return f"GP-{index + 1:07d}"


def claim_number(index: int) -> str:
    return f"GC-{index + 1:07d}"


def customer_reference(index: int) -> str:
    return f"GEN-C{index + 1:07d}"


def customer_username(index: int) -> str:
    return f"gen-c{index + 1:07d}"


def agent_username(index: int) -> str:
    return f"gen-a{index + 1:07d}"


def agent_licence(index: int) -> str:
    return f"GEN-A{index + 1:07d}"


def scramble(index: int, space: int, seed: int, multiplier: int) -> int:
    """A bijection of [0, space): distinct positions never meet (`multiplier` is coprime with `space`)."""
    return (index * multiplier + seed * 7919) % space


@dataclass(frozen=True)
class Pools:
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    places: dict[str, tuple[tuple[str, str], ...]]  # region -> (city, postal code)
    routing: tuple[str, ...]
    agencies: tuple[str, ...]

    def street_address(self, index: int, seed: int) -> str:
        number, street = divmod(scramble(index, ADDRESS_SPACE, seed, 2_654_435_761), len(self.streets))
        return f"{number + 1} {self.streets[street]}"

    def phone(self, index: int, seed: int, region: str) -> str:
        digits = scramble(index, PHONE_SPACE, seed, 3_141_593)
        area = AREA_CODES[region][digits % len(AREA_CODES[region])]
        return f"{area}-{digits // 10_000:03d}-{digits % 10_000:04d}"

    def bank_account(self, index: int, seed: int) -> str:
        account = scramble(index, ACCOUNT_SPACE, seed, 7_777_777_771)
        return f"{self.routing[account % len(self.routing)]}-{account:010d}"


def _distinct(make, count: int, attempts: int = 20) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _ in range(count * attempts):
        seen.setdefault(make(), None)
        if len(seen) == count:
            break
    return tuple(seen)


def build_pools(seed: int) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return Pools(
        female=_distinct(fake.first_name_female, 300),
        male=_distinct(fake.first_name_male, 300),
        last=_distinct(fake.last_name, 600),
        streets=_distinct(fake.street_name, 1500),
        places={region: tuple((fake.city(), fake.zipcode_in_state(region)) for _ in range(80)) for region in REGIONS},
        routing=_distinct(fake.aba, 40),
        agencies=_distinct(lambda: f"{fake.last_name()} {fake.random_element(AGENCY_SUFFIXES)}", 400),
    )
