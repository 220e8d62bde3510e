"""The plan of a synthetic book: its sizes, and the few integers per customer and policy that tie it together.

Everything the stages need to agree on (who holds which policy, when it started, how many claims it has, who is in a
ring, which claims carry a rendered invoice and which of those reuse another's) is drawn here at once with numpy,
from the seed alone. The rows themselves are built later, one record at a time, from the plan and a generator seeded
by the record's position, so any record can be rebuilt on its own and batches can be written in any size.

Memory: about 65 bytes per claim (65 MB at 1M claims), and the run keeps the primary keys of customers and policies
(another 22 MB); rows live only for their batch.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from dateutil.relativedelta import relativedelta

SIZES = {"small": 300, "medium": 10_000, "large": 100_000, "huge": 1_000_000}
MAX_CLAIMS = 9_999_999  # seven digits in GC-0000001
CUSTOMERS_PER_CLAIM = 1.2
POLICIES_PER_CLAIM = 1.6
CUSTOMERS_PER_AGENT = 250
HISTORY_DAYS = 3 * 365  # policies start within the three years before the as-of date

AUTO, HOME, LIFE = 0, 1, 2
LINE_SHARE = (0.55, 0.35, 0.10)
LINE_CLAIM_WEIGHT = (1.0, 0.6)  # auto and home; death claims are planned separately
LIFE_CLAIM_SHARE = 0.01
FREQUENCY_SHAPE = 3.0  # claim frequency varies between policies (gamma with mean 1)
SHADY_FREQUENCY = 2.0  # shady holders claim 3 times as often
LIFE_MAX_AGE_DAYS = 65 * 365
# Optional coverages, as bits of the coverage mask (bit 0, the mandatory line, is always set).
AUTO_COLLISION, AUTO_THEFT, HOME_CONTENTS = 2, 4, 2
INSTALMENT_COUNTS = (1, 2, 4, 12)
INSTALMENT_SHARE = (0.4, 0.15, 0.3, 0.15)

SHADY_SHARE = 0.02  # customers with a hidden propensity to defraud (never stored; it shows through indicators)
RING_SHARE = 0.03  # customers in rings
RING_SIZE = (3, 8)
RING_SHADY = 0.4
ADDRESS, PHONE, BANK = 0, 1, 2  # what a ring shares
CANCELLED_SHARE = 0.04
LAPSE_SHARE = 0.03  # an instalment goes unpaid: lapsed after the grace period, or overdue when that is still running
GRACE_DAYS = 30
DOCUMENT_RING_WEIGHT = 5.0  # ring members' claims are likelier to come with an invoice
REUSE_SHARE = 0.2  # of the documents, in pairs where one reuses the other's invoice
REUSE_RING_SHARE = 0.7  # pairs within a ring; the others are one claimant's two claims

STOP_NONE, STOP_CANCELLED, STOP_LAPSED, STOP_OVERDUE = 0, 1, 2, 3

# Streams of the per-record generators (see `record_rng`); contact details and a policy's limits are drawn apart
# from their record, so a ring member can rebuild its leader's contact and a claim its policy's lines.
AGENTS, CUSTOMERS, CUSTOMER_DETAILS, CONTACTS, POLICIES, LINE_TERMS, CLAIMS, DOCUMENTS = range(1, 9)


def record_rng(seed: int, stream: int, index: int) -> random.Random:
    """The generator of one record: the same (seed, stream, position) draws the same record on every run."""
    return random.Random((seed * 16 + stream) * 2**32 + index)  # noqa: S311 - reproducible test data


@dataclass(frozen=True)
class Sizes:
    claims: int
    customers: int
    policies: int
    agents: int

    @classmethod
    def for_claims(cls, claims: int) -> Sizes:
        customers = max(5, round(claims * CUSTOMERS_PER_CLAIM))
        policies = max(customers, round(claims * POLICIES_PER_CLAIM))
        return cls(claims, customers, policies, max(2, math.ceil(customers / CUSTOMERS_PER_AGENT)))


@dataclass
class Plan:
    seed: int
    as_of: date
    sizes: Sizes
    documents: int
    # customers
    shady: np.ndarray
    ring: np.ndarray  # ring id or -1
    ring_leader: np.ndarray
    ring_kind: np.ndarray
    agent: np.ndarray
    age_days: np.ndarray  # age on the as-of date
    customer_claims: np.ndarray
    # policies
    holder: np.ndarray
    line: np.ndarray
    start: np.ndarray  # days from the effective date to the as-of date
    term: np.ndarray  # days from the effective date to expiry
    cover: np.ndarray  # coverage mask
    instalments: np.ndarray
    stop_kind: np.ndarray
    stop: np.ndarray  # days from the effective date to cancellation or lapse (or the lapse to come, when overdue)
    claim_offsets: np.ndarray  # the claims of policy p are [claim_offsets[p], claim_offsets[p + 1])
    # documents, and the claims whose invoice another claim reuses: claim -> (that claim, "bytes" or "number")
    document_claims: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    documented: frozenset[int] = frozenset()
    reuse: dict[int, tuple[int, str]] = field(default_factory=dict)
    reused: frozenset[int] = frozenset()  # both sides of a reuse

    # --- lookups ---------------------------------------------------------------------------------------------

    def policies_of_claims(self, first: int, stop: int) -> np.ndarray:
        return np.searchsorted(self.claim_offsets, np.arange(first, stop), side="right") - 1

    def effective_date(self, policy: int) -> date:
        return self.as_of - timedelta(days=int(self.start[policy]))

    def expiry_date(self, policy: int) -> date:
        return self.effective_date(policy) + timedelta(days=int(self.term[policy]))

    def stop_date(self, policy: int) -> date | None:
        if self.stop_kind[policy] in (STOP_CANCELLED, STOP_LAPSED):
            return self.effective_date(policy) + timedelta(days=int(self.stop[policy]))
        return None

    def cover_end(self, policy: int) -> date:
        """The first day not covered, or the as-of date (claims are never in the future)."""
        ends = [self.expiry_date(policy), self.as_of]
        stopped = self.stop_date(policy)
        if stopped is not None:
            ends.append(stopped)
        return min(ends)


def build_plan(*, seed: int, claims: int, documents: int, as_of: date) -> Plan:
    sizes = Sizes.for_claims(claims)
    rng = np.random.default_rng([seed, 20_260_101])
    customers, policies = sizes.customers, sizes.policies

    shady = rng.random(customers) < SHADY_SHARE
    ring = np.full(customers, -1, dtype=np.int32)
    ring_sizes: list[int] = []
    while sum(ring_sizes) < customers * RING_SHARE:
        ring_sizes.append(int(rng.integers(RING_SIZE[0], RING_SIZE[1] + 1)))
    members = rng.permutation(customers)[: sum(ring_sizes)]
    ring_leader = np.zeros(len(ring_sizes), dtype=np.int32)
    position = 0
    for ring_id, size in enumerate(ring_sizes):
        group = np.sort(members[position : position + size])
        ring[group] = ring_id
        ring_leader[ring_id] = group[0]
        position += size
    shady[members] |= rng.random(members.size) < RING_SHADY
    ring_kind = rng.integers(0, 3, len(ring_sizes)).astype(np.int8)
    agent = rng.integers(0, sizes.agents, customers).astype(np.int32)
    age_days = rng.integers(19 * 365, 80 * 365, customers).astype(np.int32)

    # Every customer holds a policy; the rest go to customers at random (some hold two or three).
    holder = np.concatenate([np.arange(customers), rng.integers(0, customers, policies - customers)])
    holder = rng.permutation(holder).astype(np.int32)
    line = rng.choice(3, size=policies, p=LINE_SHARE).astype(np.int8)
    line[0] = AUTO  # a book of one claim still has a policy that can carry it
    half = policies // 2
    start = np.concatenate(
        [rng.integers(7, 365, half), rng.integers(365, HISTORY_DAYS, policies - half)]
    )  # half in force, half expired
    start = rng.permutation(start).astype(np.int32)
    too_old = (line == LIFE) & (age_days[holder] - start > LIFE_MAX_AGE_DAYS)
    line[too_old] = HOME
    effective = np.datetime64(as_of) - start.astype("timedelta64[D]")
    months = effective.astype("datetime64[M]")
    next_year = months + 12
    expiry = np.minimum(
        next_year.astype("datetime64[D]") + (effective - months.astype("datetime64[D]")),
        (next_year + 1).astype("datetime64[D]") - np.timedelta64(1, "D"),
    )  # the same day a year on, or the end of that month (29 February)
    term = (expiry - effective).astype(np.int32)

    cover = np.ones(policies, dtype=np.int8)
    auto, home = line == AUTO, line == HOME
    cover[auto & (rng.random(policies) < 0.85)] |= AUTO_COLLISION
    cover[auto & (rng.random(policies) < 0.7)] |= AUTO_THEFT
    cover[home & (rng.random(policies) < 0.6)] |= HOME_CONTENTS
    instalments = rng.choice(INSTALMENT_COUNTS, size=policies, p=INSTALMENT_SHARE).astype(np.int8)

    stop_kind, stop = _stops(rng, as_of=as_of, effective=effective, start=start, term=term, instalments=instalments)
    plan = Plan(
        seed=seed,
        as_of=as_of,
        sizes=sizes,
        documents=documents,
        shady=shady,
        ring=ring,
        ring_leader=ring_leader,
        ring_kind=ring_kind,
        agent=agent,
        age_days=age_days,
        customer_claims=np.zeros(customers, dtype=np.int32),
        holder=holder,
        line=line,
        start=start,
        term=term,
        cover=cover,
        instalments=instalments,
        stop_kind=stop_kind,
        stop=stop,
        claim_offsets=np.zeros(policies + 1, dtype=np.int64),
    )
    counts = _claim_counts(rng, plan)
    plan.claim_offsets[1:] = np.cumsum(counts)
    plan.customer_claims = np.bincount(holder, weights=counts, minlength=customers).astype(np.int32)
    _plan_documents(rng, plan, counts)
    return plan


def _stops(rng, *, as_of, effective, start, term, instalments) -> tuple[np.ndarray, np.ndarray]:
    """Cancellations (a day inside the cover so far) and unpaid instalments (lapsed, or overdue within grace)."""
    policies = start.size
    stop_kind = np.zeros(policies, dtype=np.int8)
    stop = np.full(policies, -1, dtype=np.int32)
    covered = np.minimum(term, start)  # days of cover up to the as-of date
    cancel = (rng.random(policies) < CANCELLED_SHARE) & (covered > 20)
    stop_kind[cancel] = STOP_CANCELLED
    stop[cancel] = (rng.random(policies)[cancel] * (covered[cancel] - 10)).astype(np.int32) + 10
    lapse = ~cancel & (rng.random(policies) < LAPSE_SHARE)
    picks = rng.random(policies)
    for policy in np.flatnonzero(lapse):
        count = int(instalments[policy])
        first_day = effective[policy].astype(date)
        unpaid = int(picks[policy] * count)
        due = first_day + relativedelta(months=12 // count * unpaid)
        lapses = due + timedelta(days=GRACE_DAYS + 1)
        days = (lapses - first_day).days
        if due >= as_of or days >= term[policy]:
            continue  # due after the as-of date or lapsing after expiry: paid after all
        stop_kind[policy] = STOP_LAPSED if lapses <= as_of - timedelta(days=1) else STOP_OVERDUE
        stop[policy] = days
    return stop_kind, stop


def _claim_counts(rng, plan: Plan) -> np.ndarray:
    """Claims per policy: by exposure, line and a heterogeneous frequency, higher for shady holders; death claims
    are a fixed share, on distinct life policies."""
    policies, claims = plan.sizes.policies, plan.sizes.claims
    ends = np.minimum(plan.term, plan.start)
    stopped = (plan.stop_kind == STOP_CANCELLED) | (plan.stop_kind == STOP_LAPSED)
    ends = np.where(stopped, np.minimum(ends, plan.stop), ends)
    exposure = np.maximum(ends, 1) / 365
    counts = np.zeros(policies, dtype=np.int64)
    life = np.flatnonzero(plan.line == LIFE)
    deaths = min(round(claims * LIFE_CLAIM_SHARE), life.size)
    if deaths:
        counts[rng.choice(life, size=deaths, replace=False)] = 1
    weight = np.where(plan.line == AUTO, LINE_CLAIM_WEIGHT[0], LINE_CLAIM_WEIGHT[1]) * exposure
    weight *= (1 + SHADY_FREQUENCY * plan.shady[plan.holder]) * rng.gamma(
        FREQUENCY_SHAPE, 1 / FREQUENCY_SHAPE, policies
    )
    weight[plan.line == LIFE] = 0
    counts += rng.multinomial(claims - deaths, weight / weight.sum())
    return counts


def _plan_documents(rng, plan: Plan, counts: np.ndarray) -> None:
    """Which claims come with a rendered invoice, and which invoices appear twice: pairs of claims of one ring (or,
    less often, of one claimant), the later reusing the earlier's invoice (the very same file, or its number on a
    new document). The other documents go to claims at random, ring members' likelier."""
    claim_policy = np.repeat(np.arange(plan.sizes.policies), counts)
    eligible = plan.line[claim_policy] != LIFE
    wanted = min(plan.documents, int(eligible.sum()))
    if not wanted:
        return
    claim_holder = plan.holder[claim_policy]
    claim_ring = np.where(eligible, plan.ring[claim_holder], -1)
    groups = {
        "ring": _groups(claim_ring),
        "claimant": _groups(np.where(eligible, claim_holder, -1)),
    }
    pairs = max(1, round(wanted * REUSE_SHARE / 2)) if wanted >= 4 else 0
    used: set[int] = set()
    reuse: dict[int, tuple[int, str]] = {}
    for _ in range(pairs):
        kind = "ring" if rng.random() < REUSE_RING_SHARE else "claimant"
        for _attempt in range(50):
            if not groups[kind]:
                break
            free = sorted(set(groups[kind][int(rng.integers(len(groups[kind])))]) - used)
            if len(free) >= 2:
                source, reuser = sorted(rng.choice(free, size=2, replace=False).tolist())
                reuse[reuser] = (source, "bytes" if rng.random() < 0.5 else "number")
                used |= {source, reuser}
                break
    rest = np.flatnonzero(eligible)
    rest = rest[~np.isin(rest, list(used))]
    weight = np.where(claim_ring[rest] >= 0, DOCUMENT_RING_WEIGHT, 1.0)
    others = rng.choice(rest, size=min(wanted - len(used), rest.size), replace=False, p=weight / weight.sum())
    plan.document_claims = np.sort(np.concatenate([np.array(sorted(used), dtype=np.int64), others]))
    plan.documented = frozenset(int(claim) for claim in plan.document_claims)
    plan.reuse = reuse
    plan.reused = frozenset(used)


def _groups(keys: np.ndarray) -> list[list[int]]:
    """Claims grouped by key (-1 is no group), only groups of two or more."""
    claims = np.flatnonzero(keys >= 0)
    order = claims[np.argsort(keys[claims], kind="stable")]
    boundaries = np.flatnonzero(np.diff(keys[order])) + 1
    return [group.tolist() for group in np.split(order, boundaries) if group.size >= 2]
