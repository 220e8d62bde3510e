"""Writing one batch of accepted rows: customers, then policies (with vehicle and coverage), then claims.

A batch is written in one transaction or not at all. References (a policy's product, a claim's policy) are looked
up for the whole batch at once; a row whose reference does not exist is rejected before anything is written. When
the database still refuses a batch (a constraint the row checks could not see), the batch is split in halves until
the rows it refuses are found: those are rejected with the database's message and the rest load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import Group
from django.db import DatabaseError, IntegrityError, transaction

from accounts.models import AgentProfile, CustomerProfile, User
from claims.models import Claim, ClaimEvent
from insurance.core import lookups  # noqa: F401  (registers `__any_of`: a batch's references as one array)
from insurance.core.roles import Role
from policies.choices import UnderwritingOutcome
from policies.models import Coverage, CoverageLine, InsuredVehicle, Policy, Product

from .mapping import RowIssue
from .records import RowRecords, as_datetime, derived_claim_status, derived_policy_status, username_for
from .upsert import Companion, UpsertResult, upsert_rows

Rejection = tuple[int, list[RowIssue]]


@dataclass
class BatchOutcome:
    loaded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


class BatchLoader:
    """Writes batches for one import run. Caches what does not change during a run (products, agents, groups)."""

    def __init__(
        self, *, actor, reason: str, dry_run: bool, today: date, source_name: str, sources: dict[str, str]
    ) -> None:
        self.actor = actor
        self.sources = sources
        self.reason = reason
        self.dry_run = dry_run
        self.today = today
        self.source_name = source_name
        self.products = {p.code: p for p in Product.objects.all()}
        self.coverages = {(c.product_id, c.code): c.pk for c in Coverage.objects.all()}
        self.customer_group = Group.objects.get(name=Role.CUSTOMER)
        self._agents: dict[str, int | None] = {}

    def load(self, rows: list[RowRecords]) -> BatchOutcome:
        outcome = BatchOutcome()
        rows = self._resolve(rows, outcome)
        self._write_or_split(rows, outcome)
        return outcome

    # --- references ------------------------------------------------------------------------------------------

    def _resolve(self, rows: list[RowRecords], outcome: BatchOutcome) -> list[RowRecords]:
        """Look up products, agents, holders and policies named by reference; reject rows naming what is absent."""
        holder_refs = {
            r.references["policy.holder_reference"] for r in rows if "policy.holder_reference" in r.references
        }
        holder_refs |= {r.customer["external_reference"] for r in rows if _is_reference(r.customer)}
        holders = dict(
            CustomerProfile.objects.filter(external_reference__any_of=holder_refs)
            .order_by()
            .values_list("external_reference", "user_id")
        )
        policy_refs = {r.references["claim.policy_number"] for r in rows if "claim.policy_number" in r.references}
        policy_refs |= {r.policy["number"] for r in rows if _is_reference(r.policy)}
        found = Policy.objects.filter(number__any_of=policy_refs).order_by()
        policies = {
            number: (pk, holder, currency)
            for number, pk, holder, currency in found.values_list("number", "pk", "holder_id", "currency")
        }
        self._cache_agents(
            {
                r.references[k]
                for r in rows
                for k in ("customer.agent_licence", "policy.agent_licence")
                if k in r.references
            }
        )
        kept = []
        logins: dict[str, tuple[str, int]] = {}  # username -> (customer reference, row) within this batch
        for row in rows:
            issues = []
            if row.customer and not _is_reference(row.customer):
                reference = row.customer["external_reference"]
                other = logins.setdefault(username_for(reference), (reference, row.number))
                if other[0] != reference:
                    issues.append(
                        RowIssue(
                            "customer.external_reference",
                            f"{reference!r} makes the same login name as {other[0]!r} in row {other[1]}",
                        )
                    )
            code = row.references.get("policy.product")
            if code is not None and code not in self.products:
                issues.append(RowIssue("policy.product", f"no product with code {code!r}"))
            for name in ("customer.agent_licence", "policy.agent_licence"):
                licence = row.references.get(name)
                if licence is not None and self._agents.get(licence) is None:
                    issues.append(RowIssue(name, f"no agent with licence number {licence!r}"))
            holder_ref = row.references.get("policy.holder_reference") or (
                row.customer["external_reference"] if _is_reference(row.customer) else None
            )
            if holder_ref is not None and holder_ref not in holders:
                issues.append(RowIssue("policy.holder_reference", f"no customer with reference {holder_ref!r}"))
            policy_ref = row.references.get("claim.policy_number") or (
                row.policy["number"] if _is_reference(row.policy) else None
            )
            if policy_ref is not None and policy_ref not in policies:
                issues.append(RowIssue("claim.policy_number", f"no policy numbered {policy_ref!r}"))
            coverage_code = row.references.get("coverage.code")
            if row.coverage and coverage_code is None:
                issues.append(RowIssue("coverage.code", "required when the row has coverage fields"))
            elif (
                row.coverage and code in self.products and (self.products[code].pk, coverage_code) not in self.coverages
            ):
                issues.append(RowIssue("coverage.code", f"product {code!r} has no coverage {coverage_code!r}"))
            if issues:
                named = [RowIssue(self.sources.get(issue.column, issue.column), issue.reason) for issue in issues]
                outcome.rejected.append((row.number, named))
                continue
            row.references["_holder_id"] = holders.get(holder_ref) if holder_ref else None
            if policy_ref is not None:
                row.references["_policy"] = policies[policy_ref]
            kept.append(row)
        return kept

    def _cache_agents(self, licences: set[str]) -> None:
        missing = licences - self._agents.keys()
        if missing:
            found = dict(
                AgentProfile.objects.filter(licence_number__any_of=missing)
                .order_by()
                .values_list("licence_number", "pk")
            )
            for licence in missing:
                self._agents[licence] = found.get(licence)

    # --- writing ---------------------------------------------------------------------------------------------

    def _write_or_split(self, rows: list[RowRecords], outcome: BatchOutcome) -> None:
        if not rows:
            return
        try:
            with transaction.atomic():
                counts = self._write(rows)
                if self.dry_run:
                    transaction.set_rollback(True)
        except (IntegrityError, DatabaseError) as error:
            if len(rows) == 1:
                message = str(error).strip().splitlines()[0][:300]
                outcome.rejected.append((rows[0].number, [RowIssue("(row)", f"refused by the database: {message}")]))
                return
            middle = len(rows) // 2
            self._write_or_split(rows[:middle], outcome)
            self._write_or_split(rows[middle:], outcome)
            return
        outcome.loaded += len(rows)
        outcome.counts.update(counts)

    def _write(self, rows: list[RowRecords]) -> Counter:
        counts: Counter = Counter()
        holders = self._write_customers(rows, counts)
        policies = self._write_policies(rows, holders, counts)
        self._write_claims(rows, policies, counts)
        return counts

    def _upsert(self, model, records: list[dict], key: tuple[str, ...], counts: Counter, label: str, **kwargs):
        result: UpsertResult = upsert_rows(model, records, key=key, actor=self.actor, reason=self.reason, **kwargs)
        counts[f"{label}_created"] += result.created
        counts[f"{label}_updated"] += result.updated
        counts[f"{label}_unchanged"] += result.unchanged
        return result

    def _write_customers(self, rows: list[RowRecords], counts: Counter) -> dict[str, int]:
        """Users and profiles of the rows that describe a customer; returns external reference -> user id."""
        latest: dict[str, RowRecords] = {}
        for row in rows:
            if row.customer and not _is_reference(row.customer):
                latest[row.customer["external_reference"]] = row  # a later row about the same customer wins
        if not latest:
            return {}
        users = self._upsert(
            User,
            [{"username": username_for(ref), **row.customer_user} for ref, row in latest.items()],
            ("username",),
            counts,
            "users",
            insert_only={"password": "!", "is_active": True},
        )
        user_ids = {ref: users.pks[(username_for(ref),)] for ref in latest}
        profiles = []
        for ref, row in latest.items():
            profile = {**row.customer, "user_id": user_ids[ref]}
            licence = row.references.get("customer.agent_licence")
            if licence is not None:
                profile["agent_id"] = self._agents[licence]
            profiles.append(profile)
        self._upsert(CustomerProfile, profiles, ("external_reference",), counts, "customers")
        created = [users.pks[key] for key in users.created_keys]
        if created:
            User.groups.through.objects.bulk_create(
                [User.groups.through(user_id=pk, group_id=self.customer_group.pk) for pk in created],
                ignore_conflicts=True,
            )
        return user_ids

    def _write_policies(self, rows: list[RowRecords], holders: dict[str, int], counts: Counter) -> dict[str, tuple]:
        """Policies with their vehicle and coverage line; returns number -> (pk, holder id, currency)."""
        latest: dict[str, RowRecords] = {}
        for row in rows:
            if row.policy and not _is_reference(row.policy):
                latest[row.policy["number"]] = row
        records, currencies, holder_of = [], {}, {}
        for number, row in latest.items():
            product = self.products[row.references["policy.product"]]
            policy = dict(row.policy)
            holder = holders.get(row.customer.get("external_reference")) or row.references.get("_holder_id")
            effective = policy["effective_date"]
            policy.setdefault("expiry_date", effective + relativedelta(months=product.term_months))
            policy.setdefault("currency", product.currency)
            policy.setdefault("premium", 0)
            policy.setdefault("status", derived_policy_status(policy, self.today))
            policy.setdefault("bound_at", as_datetime(effective))
            policy.update(product_id=product.pk, holder_id=holder)
            licence = row.references.get("policy.agent_licence")
            if licence is not None:
                policy["agent_id"] = self._agents[licence]
            records.append(policy)
            currencies[number], holder_of[number] = policy["currency"], holder
        result = self._upsert(
            Policy,
            records,
            ("number",),
            counts,
            "policies",
            insert_only={
                "rating_breakdown": {"source": self.source_name},
                "underwriting_outcome": UnderwritingOutcome.PASS,
            },
        )
        policies = {number: (result.pks[(number,)], holder_of[number], currencies[number]) for number in latest}
        vehicles = [{**row.vehicle, "policy_id": policies[number][0]} for number, row in latest.items() if row.vehicle]
        if vehicles:
            self._upsert(InsuredVehicle, vehicles, ("policy_id",), counts, "vehicles")
        lines = []
        for number, row in latest.items():
            if row.coverage:
                product = self.products[row.references["policy.product"]]
                coverage_id = self.coverages[(product.pk, row.references["coverage.code"])]
                line = {"premium": row.policy.get("premium", 0), **row.coverage}
                line.update(policy_id=policies[number][0], coverage_id=coverage_id)
                line.setdefault("limit", 0)
                line.setdefault("deductible", 0)
                lines.append(line)
        if lines:
            self._upsert(CoverageLine, lines, ("policy_id", "coverage_id"), counts, "coverage_lines")
        return policies

    def _write_claims(self, rows: list[RowRecords], policies: dict[str, tuple], counts: Counter) -> None:
        records = []
        for row in rows:
            if not row.claim:
                continue
            policy_pk, holder, currency = policies.get(row.policy.get("number")) or row.references["_policy"]
            claim = dict(row.claim)
            claim.setdefault("reported_at", claim["incident_at"])
            claim.setdefault("currency", currency)
            claim.setdefault("status", derived_claim_status(claim))
            claim.setdefault("incident_place", "")
            claim.setdefault("description", "")
            claim.update(policy_id=policy_pk, claimant_id=holder)
            records.append(claim)
        if not records:
            return
        self._upsert(
            Claim,
            records,
            ("number",),
            counts,
            "claims",
            insert_only={"reported_by_id": self.actor.pk},
            companion=Companion(
                model=ClaimEvent,
                link="claim_id",
                values={
                    "kind": "imported",
                    "actor_id": self.actor.pk,
                    "message": f"Imported from {self.source_name} ({self.reason}).",
                    "customer_visible": False,
                },
            ),
        )


def _is_reference(values: dict) -> bool:
    """A customer or policy given only by its natural key names an existing record; it is not written."""
    return len(values) == 1 and next(iter(values)) in ("external_reference", "number")
