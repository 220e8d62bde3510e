"""The run: stages in order (agents, customers, policies, claims, documents), each written in batches, one
transaction per batch, through `etl.upsert.upsert_rows` with history.

Records with a natural key are upserted, so a second run with the same arguments changes nothing. Records without
one (reserve movements, payments, timeline events, documents and their fields) are written only for claims the
claims upsert created in this run, and documents only for claims that have none yet. A run that stopped half way
is completed by running it again with the same arguments.

Time, on PostgreSQL (two cores, shared): medium (10k claims) about 20 s, large (100k) about 190 s, plus 0.15 s per
document; huge (1M) extrapolates to about 35 minutes. Half of it is building rows in Python (rating and instalment
schedules above all), half the upserts (COPY, the merge and its history rows).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import AgentProfile, CustomerProfile, User
from claims.models import Claim, ClaimDocument, ClaimEvent, ExtractedField, Payment, ReserveChange
from claims.services import document_process
from insurance.core.audit import acting_as
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role
from policies.models import CoverageLine, Instalment, Policy

from ..upsert import UpsertResult, upsert_rows
from . import documents as docs
from .book import Catalogue, policy_rows
from .claims import WEIGHTS, ClaimRows, claim_rows
from .people import Person, agent_rows, customer_rows, person
from .plan import MAX_CLAIMS, Plan, build_plan
from .pools import Pools, build_pools, claim_number, policy_number

DEFAULT_SEED = 7
DEFAULT_DOCUMENTS = 50
BATCH_SIZE = 5000
DOCUMENT_BATCH = 50


@dataclass
class Summary:
    """What a run wrote (created, updated, unchanged per record type) and what the book it describes holds."""

    seed: int
    as_of: date
    claims: int
    documents: int
    counts: dict[str, Counter] = field(default_factory=dict)
    fraud: int = 0  # claims that are fraud, found out or not
    labelled: int = 0  # claims whose investigation concluded
    confirmed_fraud: int = 0
    indicators: Counter = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fraud_rate(self) -> float:
        """Confirmed fraud among labelled claims."""
        return self.confirmed_fraud / self.labelled if self.labelled else 0.0

    @property
    def changed(self) -> int:
        return sum(counts["created"] + counts["updated"] for counts in self.counts.values())

    def add(self, label: str, result: UpsertResult | None = None, *, unchanged: int = 0) -> None:
        counts = self.counts.setdefault(label, Counter(created=0, updated=0, unchanged=0))
        if result is not None:
            counts.update(created=result.created, updated=result.updated, unchanged=result.unchanged)
        counts["unchanged"] += unchanged


def recorded_run() -> dict | None:
    """The arguments the generated book in the database was made with (kept on its policies), or None."""
    attributes = Policy.objects.filter(number=policy_number(0)).values_list("attributes", flat=True).first()
    if attributes is None:
        return None
    recorded = (attributes or {}).get("generated")
    if recorded is None:
        raise ServiceError(f"Policy {policy_number(0)} exists and was not generated: not writing over it.")
    return recorded


def generate_book(
    *,
    actor,
    seed: int = DEFAULT_SEED,
    claims: int,
    documents: int | None = None,
    ocr: bool = False,
    as_of: date | None = None,
    batch_size: int = BATCH_SIZE,
    progress=None,
) -> Summary:
    """Generate (or bring up to date) the synthetic book of `claims` claims for `seed`; see the package docstring.

    The book is a function of the seed, the number of claims, the number of documents and the as-of date (by
    default today, or the date the book in the database was made as of). A book made with other arguments is
    never written over (a ServiceError says with which).
    """
    if not 1 <= claims <= MAX_CLAIMS:
        raise ServiceError(f"claims must be between 1 and {MAX_CLAIMS:,}, not {claims}")
    if seed < 0:
        raise ServiceError(f"seed must be 0 or more, not {seed}")
    if batch_size < 1:
        raise ServiceError(f"batch size must be 1 or more, not {batch_size}")
    documents = min(DEFAULT_DOCUMENTS, claims) if documents is None else documents
    if documents < 0:
        raise ServiceError(f"documents must be 0 or more, not {documents}")
    recorded = recorded_run()
    if as_of is None:
        as_of = date.fromisoformat(recorded["as_of"]) if recorded else timezone.localdate()
    if as_of > timezone.localdate():
        raise ServiceError(f"as-of date {as_of} is in the future")
    marker = {"seed": seed, "claims": claims, "documents": documents, "as_of": as_of.isoformat()}
    if recorded is not None and recorded != marker:
        raise ServiceError(
            "The generated book in this database was made with "
            + ", ".join(f"{name.replace('_', '-')} {recorded.get(name)}" for name in marker)
            + "; generating another over it would mix the two. Use the same arguments, or a fresh database."
        )
    with acting_as(actor):
        run = _Run(actor=actor, marker=marker, ocr=ocr, batch_size=batch_size, progress=progress)
        return run.execute()


class _Run:
    def __init__(self, *, actor, marker: dict, ocr: bool, batch_size: int, progress):
        self.actor = actor
        self.marker = marker
        self.ocr = ocr
        self.batch_size = batch_size
        self.progress = progress
        self.reason = f"generate_demo_data seed {marker['seed']}"
        self.plan: Plan = build_plan(
            seed=marker["seed"],
            claims=marker["claims"],
            documents=marker["documents"],
            as_of=date.fromisoformat(marker["as_of"]),
        )
        sizes = self.plan.sizes
        self.summary = Summary(
            seed=marker["seed"], as_of=self.plan.as_of, claims=sizes.claims, documents=self.plan.document_claims.size
        )
        self.pools: Pools = build_pools(marker["seed"])
        self.catalogue = Catalogue()
        self.agent_profile = np.zeros(sizes.agents, dtype=np.int64)
        self.agent_user = np.zeros(sizes.agents, dtype=np.int64)
        self.customer_user = np.zeros(sizes.customers, dtype=np.int64)
        self.policy_pk = np.zeros(sizes.policies, dtype=np.int64)

    def execute(self) -> Summary:
        sizes = self.plan.sizes
        self._stage("agents", sizes.agents, self.batch_size, self._agents)
        self._stage("customers", sizes.customers, self.batch_size, self._customers)
        self._stage("policies", sizes.policies, self.batch_size, self._policies)
        self._stage("claims", sizes.claims, self.batch_size, self._claims)
        self._stage("documents", self.plan.document_claims.size, DOCUMENT_BATCH, self._documents)
        return self.summary

    def _stage(self, name: str, total: int, size: int, write) -> None:
        started = time.monotonic()
        task = self.progress.add_task(name, total=total) if self.progress is not None else None
        for first in range(0, total, size):
            stop = min(first + size, total)
            write(first, stop)
            if task is not None:
                self.progress.update(task, completed=stop)
        self.summary.seconds[name] = time.monotonic() - started

    def _upsert(self, label: str, model, rows: list[dict], key, **options) -> UpsertResult:
        result = upsert_rows(model, rows, key=key, actor=self.actor, reason=self.reason, **options)
        self.summary.add(label, result)
        return result

    # --- stages ----------------------------------------------------------------------------------------------

    def _users(self, label: str, users: list[dict], role: str) -> list[int]:
        result = self._upsert(label, User, users, ("username",), insert_only={"password": UNUSABLE_PASSWORD_PREFIX})
        group = Group.objects.get(name=role)
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=result.pks[key], group_id=group.pk) for key in result.created_keys],
            ignore_conflicts=True,
        )
        return [result.pks[(user["username"],)] for user in users]

    def _agents(self, first: int, stop: int) -> None:
        users, profiles = zip(*(agent_rows(self.plan, self.pools, index) for index in range(first, stop)), strict=True)
        with transaction.atomic():
            user_pks = self._users("agent users", list(users), Role.AGENT)
            for profile, user_pk in zip(profiles, user_pks, strict=True):
                profile["user_id"] = user_pk
            result = self._upsert("agents", AgentProfile, list(profiles), ("licence_number",))
        self.agent_user[first:stop] = user_pks
        self.agent_profile[first:stop] = [result.pks[(profile["licence_number"],)] for profile in profiles]

    def _customers(self, first: int, stop: int) -> None:
        users, profiles = zip(
            *(customer_rows(self.plan, self.pools, index) for index in range(first, stop)), strict=True
        )
        with transaction.atomic():
            user_pks = self._users("customer users", list(users), Role.CUSTOMER)
            for index, profile, user_pk in zip(range(first, stop), profiles, user_pks, strict=True):
                profile["user_id"] = user_pk
                profile["agent_id"] = int(self.agent_profile[self.plan.agent[index]])
            self._upsert("customers", CustomerProfile, list(profiles), ("external_reference",))
        self.customer_user[first:stop] = user_pks

    def _policies(self, first: int, stop: int) -> None:
        batch = []
        for index in range(first, stop):
            holder = int(self.plan.holder[index])
            rows = policy_rows(self.plan, self.catalogue, person(self.plan, self.pools, holder), index, self.marker)
            rows.policy["holder_id"] = int(self.customer_user[holder])
            rows.policy["agent_id"] = int(self.agent_profile[self.plan.agent[holder]])
            batch.append(rows)
        with transaction.atomic():
            result = self._upsert("policies", Policy, [rows.policy for rows in batch], ("number",))
            pks = [result.pks[(rows.policy["number"],)] for rows in batch]
            lines, instalments, risks = [], [], {}
            for rows, pk in zip(batch, pks, strict=True):
                lines += [{**line, "policy_id": pk} for line in rows.lines]
                instalments += [{**instalment, "policy_id": pk} for instalment in rows.instalments]
                risks.setdefault(rows.risk_model, []).append({**rows.risk, "policy_id": pk})
            self._upsert("coverage lines", CoverageLine, lines, ("policy_id", "coverage_id"))
            for model, risk_rows in risks.items():
                self._upsert(str(model._meta.verbose_name_plural), model, risk_rows, ("policy_id",))
            self._upsert("instalments", Instalment, instalments, ("policy_id", "sequence"))
        self.policy_pk[first:stop] = pks

    def _claim_rows(self, index: int, people: dict) -> ClaimRows:
        policy = int(self.plan.policies_of_claims(index, index + 1)[0])
        customer = int(self.plan.holder[policy])
        if customer not in people:
            people[customer] = person(self.plan, self.pools, customer)
        return claim_rows(self.plan, self.pools, self.catalogue, people[customer], index)

    def _reported_by(self, rows: ClaimRows) -> int:
        if rows.by_agent:
            return int(self.agent_user[self.plan.agent[rows.claimant]])
        return int(self.customer_user[rows.claimant])

    def _claims(self, first: int, stop: int) -> None:
        people: dict[int, Person] = {}
        batch = [self._claim_rows(index, people) for index in range(first, stop)]
        for rows in batch:
            rows.claim.update(
                policy_id=int(self.policy_pk[rows.policy]),
                claimant_id=int(self.customer_user[rows.claimant]),
                reported_by_id=self._reported_by(rows),
            )
            self.summary.fraud += rows.fraud
            self.summary.labelled += rows.labelled
            self.summary.confirmed_fraud += rows.claim["investigation_outcome"] == "confirmed_fraud"
            self.summary.indicators.update(name for name, present in rows.indicators.items() if present)
        with transaction.atomic():
            result = self._upsert("claims", Claim, [rows.claim for rows in batch], ("number",))
            reserves, payments, events = [], [], []
            for rows in batch:
                key = (rows.claim["number"],)
                if key not in result.created_keys:  # written by the run that created the claim
                    self.summary.add("reserve changes", unchanged=len(rows.reserves))
                    self.summary.add("payments", unchanged=len(rows.payments))
                    self.summary.add("claim events", unchanged=len(rows.events))
                    continue
                pk = result.pks[key]
                reserves += [{**row, "claim_id": pk, "actor_id": self.actor.pk} for row in rows.reserves]
                payments += [{**row, "claim_id": pk, "paid_by_id": self.actor.pk} for row in rows.payments]
                for event in rows.events:
                    by = rows.claim["reported_by_id"] if event["kind"] == "submitted" else self.actor.pk
                    events.append({**event, "claim_id": pk, "actor_id": by})
            self._upsert("reserve changes", ReserveChange, reserves, None)
            self._upsert("payments", Payment, payments, None)
            self._upsert("claim events", ClaimEvent, events, None)

    def _documents(self, first: int, stop: int) -> None:
        indexes = [int(index) for index in self.plan.document_claims[first:stop]]
        claim_pks = dict(
            Claim.objects.filter(number__in=[claim_number(index) for index in indexes]).values_list("number", "pk")
        )
        have = set(
            ClaimDocument.objects.filter(claim_id__in=claim_pks.values()).values_list("claim_id", flat=True).distinct()
        )
        people: dict[int, Person] = {}
        cache: dict[int, ClaimRows] = {}

        def rows_of(index: int) -> ClaimRows:
            if index not in cache:
                cache[index] = self._claim_rows(index, people)
            return cache[index]

        documents, fields, stored = [], {}, []
        try:
            for index in indexes:
                pk = claim_pks[claim_number(index)]
                rows = rows_of(index)
                invoice = docs.invoice_for(self.plan, rows, rows_of)
                if pk in have:
                    self.summary.add("documents", unchanged=1)
                    self.summary.add("extracted fields", unchanged=0 if self.ocr else len(docs.field_rows(invoice)))
                    continue
                prepared = docs.prepare(rows, docs.render(invoice))
                path = default_storage.save(
                    docs.storage_name(self.plan, rows, prepared), ContentFile(prepared.data, name="invoice")
                )
                stored.append(path)
                row = docs.document_row(rows, prepared, path, ocr=self.ocr)
                uploaded_by = self._reported_by(rows)
                documents.append({**row, "claim_id": pk, "uploaded_by_id": uploaded_by})
                if not self.ocr:
                    fields[pk] = docs.field_rows(invoice)
            with transaction.atomic():
                self._upsert("documents", ClaimDocument, documents, None)
                document_pks = dict(
                    ClaimDocument.objects.filter(claim_id__in=[row["claim_id"] for row in documents]).values_list(
                        "claim_id", "pk"
                    )
                )
                field_rows = [
                    {**row, "document_id": document_pks[claim_pk]} for claim_pk, rows in fields.items() for row in rows
                ]
                self._upsert("extracted fields", ExtractedField, field_rows, None)
        except BaseException:
            for path in stored:
                default_storage.delete(path)
            raise
        if self.ocr:
            for document_pk in document_pks.values():
                document_process(actor=self.actor, document_id=document_pk)


__all__ = ["BATCH_SIZE", "DEFAULT_DOCUMENTS", "DEFAULT_SEED", "WEIGHTS", "Summary", "generate_book", "recorded_run"]
