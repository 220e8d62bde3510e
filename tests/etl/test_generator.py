"""The synthetic book (`generate_demo_data`): its records, reproducibility, and fraud patterns that a model can
learn from the rows but that no single rule gives away."""

import hashlib
import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from io import StringIO
from types import SimpleNamespace

import numpy as np
import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from simple_history.models import HistoricalChanges
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from accounts.models import AgentProfile, CustomerProfile, User
from claims.models import Claim, ClaimDocument, ClaimEvent, ExtractedField, Payment, ReserveChange
from etl.generator import generate_book
from etl.generator.book import Catalogue
from etl.generator.claims import claim_rows
from etl.generator.people import person
from etl.generator.plan import ADDRESS, BANK, PHONE, Sizes, build_plan
from etl.generator.pools import build_pools
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role
from policies.models import CoverageLine, Instalment, InsuredPerson, InsuredProperty, InsuredVehicle, Policy

SEED = 7
CLAIMS = 1500
DOCUMENTS = 24
AS_OF = date(2025, 6, 30)  # fixed, so the book (and every figure below) is the same whenever the suite runs
LINE_LOSSES = {
    "auto": {"collision", "theft", "injury"},
    "home": {"water_damage", "fire", "storm"},
    "life": {"death"},
}


def history_rows() -> int:
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if issubclass(model, HistoricalChanges) and model._meta.app_label in {"accounts", "policies", "claims"}
    )


@pytest.fixture(scope="class")
def book(django_db_setup, django_db_blocker, tmp_path_factory):
    """One generated book for every test of the class, rolled back afterwards."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media)), transaction.atomic():
        actor = system_account("command")
        summary = generate_book(actor=actor, seed=SEED, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF, batch_size=600)
        plan = build_plan(seed=SEED, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF)
        yield SimpleNamespace(summary=summary, actor=actor, plan=plan)
        transaction.set_rollback(True)


def labelled_features() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Simple features any analyst would derive from the rows, for the claims whose investigation concluded."""
    claims = list(
        Claim.objects.filter(number__startswith="GC-").values(
            "pk",
            "claimant_id",
            "incident_at",
            "reported_at",
            "amount_claimed",
            "loss_type",
            "police_report_filed",
            "investigation_outcome",
            "policy__effective_date",
            "policy__expiry_date",
        )
    )
    per_claimant = Counter(claim["claimant_id"] for claim in claims)
    medians = {
        loss: float(np.median([float(c["amount_claimed"]) for c in claims if c["loss_type"] == loss]))
        for loss in {c["loss_type"] for c in claims}
    }
    groups = defaultdict(set)
    for profile in CustomerProfile.objects.filter(external_reference__startswith="GEN-C").values():
        for key in (
            ("address", profile["address_line1"], profile["postal_code"]),
            ("phone", profile["phone"]),
            ("bank", profile["bank_account"]),
        ):
            groups[key].add(profile["user_id"])
    in_ring = {user for members in groups.values() if len(members) >= 3 for user in members}
    documents = list(ClaimDocument.objects.values("claim_id", "sha256", "pk"))
    numbers = dict(ExtractedField.objects.filter(name="invoice_number").values_list("document_id", "value"))
    sha_claims, number_claims = defaultdict(set), defaultdict(set)
    for document in documents:
        sha_claims[document["sha256"]].add(document["claim_id"])
        if document["pk"] in numbers:
            number_claims[numbers[document["pk"]]].add(document["claim_id"])
    reused = {c for group in [*sha_claims.values(), *number_claims.values()] if len(group) > 1 for c in group}

    names = [
        "early",
        "late_in_term",
        "report_delay",
        "amount_ratio",
        "claimant_claims",
        "ring",
        "weekend_night",
        "reused_document",
    ]
    rows, labels = [], []
    for claim in claims:
        if claim["investigation_outcome"] == "unknown":
            continue
        incident = claim["incident_at"]
        night = incident.hour >= 22 or incident.hour < 5
        rows.append(
            [
                (incident.date() - claim["policy__effective_date"]).days < 30,
                (claim["policy__expiry_date"] - incident.date()).days <= 21,
                math.log1p((claim["reported_at"] - incident).total_seconds() / 86400),
                math.log(float(claim["amount_claimed"]) / medians[claim["loss_type"]]),
                per_claimant[claim["claimant_id"]],
                claim["claimant_id"] in in_ring,
                incident.weekday() >= 5 and night and not claim["police_report_filed"],
                claim["pk"] in reused,
            ]
        )
        labels.append(claim["investigation_outcome"] == "confirmed_fraud")
    return np.array(rows, dtype=float), np.array(labels), names


@pytest.mark.usefixtures("book")
class TestTheGeneratedBook:
    def test_it_has_the_records_its_size_calls_for(self, book, db):
        sizes = Sizes.for_claims(CLAIMS)
        customers = CustomerProfile.objects.filter(external_reference__startswith="GEN-C")
        assert customers.count() == sizes.customers
        assert User.objects.filter(username__startswith="gen-c", groups__name=Role.CUSTOMER).count() == sizes.customers
        assert AgentProfile.objects.filter(licence_number__startswith="GEN-A").count() == sizes.agents
        assert User.objects.filter(username__startswith="gen-a", groups__name=Role.AGENT).count() == sizes.agents
        assert not User.objects.filter(username__startswith="gen-").exclude(password="!").exists()
        assert not customers.filter(agent=None).exists()
        policies = Policy.objects.filter(number__startswith="GP-")
        assert policies.count() == sizes.policies
        assert CoverageLine.objects.values("policy").distinct().count() == sizes.policies
        risks = InsuredVehicle.objects.count() + InsuredProperty.objects.count() + InsuredPerson.objects.count()
        assert risks == sizes.policies
        assert Instalment.objects.count() >= sizes.policies
        assert set(Instalment.objects.values_list("status", flat=True)) == {"paid", "due", "void"}
        assert Claim.objects.filter(number__startswith="GC-").count() == CLAIMS
        assert ClaimDocument.objects.count() == DOCUMENTS
        summary = book.summary
        assert summary.counts["claims"]["created"] == CLAIMS
        for label, model in [
            ("reserve changes", ReserveChange),
            ("payments", Payment),
            ("claim events", ClaimEvent),
            ("extracted fields", ExtractedField),
        ]:
            assert summary.counts[label]["created"] == model.objects.count() > 0

    def test_identifiers_never_meet_the_numbers_the_system_issues(self, db):
        assert Policy.objects.filter(number__regex=r"^GP-\d{7}$").count() == Policy.objects.count()
        assert Claim.objects.filter(number__regex=r"^GC-\d{7}$").count() == Claim.objects.count()
        assert Claim.objects.get(number="GC-0000001")

    def test_claims_fall_inside_their_policy_cover_with_losses_of_its_line(self, db):
        for claim in Claim.objects.select_related("policy__product"):
            policy = claim.policy
            ends = [policy.expiry_date, AS_OF, *(d for d in (policy.cancelled_on, policy.lapsed_on) if d)]
            assert policy.effective_date <= claim.incident_at.date() < min(ends), claim.number
            assert claim.incident_at < claim.reported_at, claim.number
            assert claim.loss_type in LINE_LOSSES[policy.product.line_of_business], claim.number
            assert claim.amount_claimed > 0
        first = min(Policy.objects.values_list("effective_date", flat=True))
        assert AS_OF - first > timedelta(days=2 * 365)

    def test_statuses_spread_over_the_lifecycle_and_money_adds_up(self, db):
        statuses = Counter(Claim.objects.values_list("status", flat=True))
        assert statuses["closed"] + statuses["paid"] > CLAIMS / 2
        assert {"submitted", "under_review", "investigation", "denied", "paid", "closed"} <= set(statuses)
        for claim in Claim.objects.prefetch_related("payments", "reserve_changes", "events"):
            paid = sum((payment.amount for payment in claim.payments.all()), 0)
            assert paid == claim.paid_amount, claim.number
            movements = sorted(claim.reserve_changes.all(), key=lambda change: change.pk)
            if movements:
                assert movements[-1].balance_after == claim.reserve_amount == sum(m.amount for m in movements)
            assert claim.events.filter(kind="submitted").count() == 1
            if claim.investigation_outcome == "confirmed_fraud":
                assert claim.status in {"denied", "closed"}
                assert claim.paid_amount == 0
            if claim.status in {"submitted", "under_review", "investigation", "approved"}:
                assert claim.investigation_outcome == "unknown"

    def test_confirmed_fraud_is_5_to_12_percent_of_labelled_claims(self, book, db):
        labelled = Claim.objects.exclude(investigation_outcome="unknown")
        fraud = labelled.filter(investigation_outcome="confirmed_fraud").count()
        assert labelled.count() > CLAIMS / 5
        assert 0.05 <= fraud / labelled.count() <= 0.12
        assert book.summary.fraud_rate == fraud / labelled.count()

    def test_fraud_is_learnable_from_the_rows_but_no_single_indicator_gives_it_away(self, db):
        features, labels, names = labelled_features()
        assert labels.sum() >= 20
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
        auc = roc_auc_score(labels, scores)
        assert 0.7 < auc < 0.98
        for column, name in enumerate(names):
            alone = roc_auc_score(labels, features[:, column])
            assert max(alone, 1 - alone) < auc - 0.03, name

    def test_rings_share_an_address_a_phone_or_a_bank_account(self, book, db):
        plan = book.plan
        profiles = {
            p.external_reference: p for p in CustomerProfile.objects.filter(external_reference__startswith="GEN-C")
        }
        shared = {ADDRESS: ("address_line1", "postal_code", "city"), PHONE: ("phone",), BANK: ("bank_account",)}
        assert len(plan.ring_leader) >= 5
        for ring, kind in enumerate(plan.ring_kind):
            members = [profiles[f"GEN-C{index + 1:07d}"] for index in np.flatnonzero(plan.ring == ring)]
            assert 3 <= len(members) <= 8
            values = {tuple(getattr(member, name) for name in shared[int(kind)]) for member in members}
            assert len(values) == 1, (ring, values)
        # Outside the rings nobody shares them: the pattern is there only where it was planted.
        outside = [p for p in profiles.values() if plan.ring[int(p.external_reference[5:]) - 1] < 0]
        for names in shared.values():
            assert len({tuple(getattr(p, name) for name in names) for p in outside}) == len(outside)

    def test_reused_invoices_share_their_bytes_or_their_number(self, book, db):
        plan = book.plan
        assert plan.reuse
        documents = {d.claim.number: d for d in ClaimDocument.objects.select_related("claim")}
        numbers = dict(ExtractedField.objects.filter(name="invoice_number").values_list("document_id", "value"))
        kinds = Counter()
        for claim, (source, kind) in plan.reuse.items():
            mine, theirs = documents[f"GC-{claim + 1:07d}"], documents[f"GC-{source + 1:07d}"]
            assert numbers[mine.pk] == numbers[theirs.pk]
            assert (mine.sha256 == theirs.sha256) == (kind == "bytes")
            kinds[kind] += 1
        reused_numbers = Counter(numbers.values())
        assert sum(count for count in reused_numbers.values() if count > 1) >= len(plan.reuse)

    def test_documents_are_stored_like_uploads_with_generated_fields(self, db):
        for document in ClaimDocument.objects.select_related("claim"):
            assert default_storage.exists(document.file.name)
            with document.file.open("rb") as handle:
                data = handle.read()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (document.size, document.sha256)
            assert (document.kind, document.mime, document.status) == ("png", "image/png", "done")
            assert (document.method, document.document_type) == ("generated", "invoice")
            fields = {field.name: field for field in document.fields.all()}
            assert {"date", "total_amount", "currency", "invoice_number", "policy_number", "vendor"} <= set(fields)
            assert fields["currency"].value == "USD"
            assert all(field.confidence == 1.0 and not field.needs_review for field in fields.values())

    def test_a_second_run_changes_nothing(self, book, db):
        before = history_rows()
        summary = generate_book(
            actor=book.actor, seed=SEED, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF, batch_size=500
        )
        assert summary.changed == 0
        assert summary.counts["claims"]["unchanged"] == CLAIMS
        assert summary.counts["documents"]["unchanged"] == DOCUMENTS
        assert history_rows() == before
        assert (summary.fraud, summary.labelled, summary.confirmed_fraud) == (
            book.summary.fraud,
            book.summary.labelled,
            book.summary.confirmed_fraud,
        )

    def test_the_same_seed_draws_the_same_claims_and_another_seed_others(self, db):
        catalogue = Catalogue()

        def amounts(seed):
            plan, pools = build_plan(seed=seed, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF), build_pools(seed)
            holders = plan.holder[plan.policies_of_claims(0, 50)]
            return [
                claim_rows(plan, pools, catalogue, person(plan, pools, int(holder)), index).claim["amount_claimed"]
                for index, holder in enumerate(holders)
            ]

        stored = list(Claim.objects.order_by("number").values_list("amount_claimed", flat=True)[:50])
        assert amounts(SEED) == stored == amounts(SEED)
        assert amounts(SEED + 1) != stored
        assert build_pools(SEED) == build_pools(SEED)

    def test_another_book_over_this_one_is_refused(self, book, db):
        with pytest.raises(ServiceError, match="made with seed 7"):
            generate_book(actor=book.actor, seed=8, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_command_generates_a_book_and_says_what_it_wrote(db, media):
    out = StringIO()
    call_command("generate_demo_data", "--claims", "40", "--documents", "2", "--as-of", "2025-06-30", stdout=out)
    text = out.getvalue()
    assert "40 claims, 2 documents" in text
    assert "Fraud:" in text
    assert "Time:" in text
    assert Claim.objects.count() == 40
    assert ClaimDocument.objects.filter(method="generated").count() == 2
    created = Claim.objects.order_by("number").first().history.get()
    assert (created.history_user, created.history_change_reason) == (
        system_account("command"),
        "generate_demo_data seed 7",
    )

    again = StringIO()
    call_command("generate_demo_data", "--claims", "40", "--documents", "2", stdout=again)  # as-of as recorded
    assert "Nothing changed" in again.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--claims", "-5"], "claims must be between 1"),
        (["--claims", "0"], "claims must be between 1"),
        (["--documents", "-1"], "documents must be 0 or more"),
        (["--as-of", "2999-01-01"], "in the future"),
        (["--seed", "-1"], "seed must be 0 or more"),
    ],
)
def test_the_command_refuses_bad_input(db, media, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_demo_data", *arguments, stdout=StringIO())


def test_the_command_refuses_to_mix_two_books(db, media):
    call_command("generate_demo_data", "--claims", "10", "--documents", "0", "--as-of", "2025-06-30", stdout=StringIO())
    with pytest.raises(CommandError, match="made with seed 7, claims 10"):
        call_command("generate_demo_data", "--claims", "11", "--documents", "0", stdout=StringIO())


def test_with_ocr_the_real_pipeline_reads_the_documents(db, media):
    call_command(
        "generate_demo_data", "--claims", "12", "--documents", "1", "--ocr", "--as-of", "2025-06-30", stdout=StringIO()
    )
    document = ClaimDocument.objects.get()
    assert document.method != "generated"
    assert document.status in {"done", "failed"}  # failed, with the reason, where tesseract is not installed
    assert document.claim.events.filter(kind="document_processed").exists()
