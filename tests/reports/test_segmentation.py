"""Customer segmentation: features aggregated in the database, deterministic clusters for a seed, every customer in
a named segment, a rerun replacing the assignments (with history), and the segment in the customers feed under each
caller's scope."""

from datetime import date
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerProfile
from etl.generator import generate_book
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from reports import segmentation
from reports.models import CustomerSegment, SegmentationRun
from reports.segmentation import FEATURES, VOCABULARY, Centroid, customer_features, segment_name, segmentation_run
from tests.reports.conftest import walk

SEED = 11
CLAIMS = 400
AS_OF = date(2025, 6, 30)


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    """A small generated book (customers with agents, policies over several years, claims), rolled back after the
    module; each test's own writes are rolled back after the test."""
    with django_db_blocker.unblock(), transaction.atomic():
        actor = system_account("command")
        generate_book(actor=actor, seed=SEED, claims=CLAIMS, documents=0, as_of=AS_OF)
        yield SimpleNamespace(actor=actor, customers=CustomerProfile.objects.count())
        transaction.set_rollback(True)


def assignments() -> dict[int, tuple[int, str]]:
    return {row[0]: row[1:] for row in CustomerSegment.objects.values_list("customer_id", "label", "name")}


# --- the run ------------------------------------------------------------------------------------------------------


def test_every_customer_gets_a_named_segment_and_the_run_is_stored(generated, db):
    run = segmentation_run(actor=generated.actor, seed=SEED, as_of=AS_OF)

    assert run.customer_count == generated.customers == CustomerSegment.objects.count()
    assert set(CustomerSegment.objects.values_list("run_id", flat=True)) == {run.pk}
    assert run.run_by == generated.actor
    assert run.k_requested is None
    assert run.k in segmentation.K_RANGE
    tried = run.metrics["silhouette_by_k"]
    assert set(tried) == {str(k) for k in segmentation.K_RANGE}
    assert run.silhouette == pytest.approx(max(score for score in tried.values() if score is not None), abs=0.05)
    names = [segment["name"] for segment in run.segments]
    assert len(set(names)) == run.k, "each segment has a name of its own"
    for name in names:
        assert set(name.split()) <= VOCABULARY | {str(n) for n in range(10)}, name
    assert sum(segment["size"] for segment in run.segments) == run.customer_count
    assert [segment["size"] for segment in run.segments] == sorted((s["size"] for s in run.segments), reverse=True)
    stored = assignments()
    for segment in run.segments:
        members = [customer for customer, (label, _) in stored.items() if label == segment["label"]]
        assert len(members) == segment["size"]
        assert {stored[customer][1] for customer in members} == {segment["name"]}


def test_the_same_seed_gives_the_same_segments(generated, db):
    first = segmentation_run(actor=generated.actor, seed=SEED, as_of=AS_OF)
    before = assignments()
    second = segmentation_run(actor=generated.actor, seed=SEED, as_of=AS_OF)
    assert second.k == first.k
    assert second.segments == first.segments
    assert assignments() == before


def test_a_given_k_is_used(generated, db):
    run = segmentation_run(actor=generated.actor, k=4, seed=SEED, as_of=AS_OF)
    assert (run.k, run.k_requested) == (4, 4)
    assert "silhouette_by_k" not in run.metrics
    assert set(CustomerSegment.objects.values_list("label", flat=True)) == {0, 1, 2, 3}


def test_a_rerun_replaces_every_assignment_and_keeps_the_earlier_one_in_history(generated, db, personas):
    first = segmentation_run(actor=generated.actor, k=3, seed=SEED, as_of=AS_OF)
    second = segmentation_run(actor=personas.underwriter, k=5, seed=SEED + 1, as_of=AS_OF)

    assert CustomerSegment.objects.count() == second.customer_count
    assert set(CustomerSegment.objects.values_list("run_id", flat=True)) == {second.pk}
    assert SegmentationRun.objects.filter(pk=first.pk).exists(), "earlier runs are kept"
    assignment = CustomerSegment.objects.get(customer=personas.alice)
    history = list(assignment.history.order_by("history_date"))
    assert [(row.history_type, row.run_id) for row in history] == [("+", first.pk), ("~", second.pk)]
    assert history[0].history_user == generated.actor
    assert history[1].history_user == personas.underwriter
    assert history[1].updated_at > history[0].updated_at


def test_only_book_wide_staff_and_system_accounts_may_segment(generated, personas, db):
    for persona in ("alice_agent", "analyst", "alice"):
        with pytest.raises(ServiceError):
            segmentation_run(actor=getattr(personas, persona), seed=SEED)
    with pytest.raises(ServiceError):
        segmentation_run(actor=generated.actor, k=1)
    assert not CustomerSegment.objects.exists()


def test_the_command_prints_the_segments(generated, db):
    out = StringIO()
    call_command("segment_customers", "--k", "3", "--seed", str(SEED), stdout=out)
    run = SegmentationRun.objects.get()
    assert run.run_by.is_system
    text = out.getvalue()
    assert "3 segments (k given" in text
    for segment in run.segments:
        assert segment["name"] in text


# --- features and names --------------------------------------------------------------------------------------------


def test_features_are_aggregated_per_customer(book, personas):
    """Alice: one policy in force since 60 days ago, three claims (1200.00, 2999.99, 450.55)."""
    features = customer_features(user=personas.underwriter)
    row = dict(zip(FEATURES, features.values[list(features.customer_ids).index(personas.alice.pk)], strict=True))
    policy = book.alice_policy
    tenure = (timezone.localdate() - policy.effective_date).days / 365.25
    assert row["tenure_years"] == pytest.approx(tenure)
    assert row["premium"] == pytest.approx(float(policy.premium))
    assert row["products_held"] == 1
    assert row["claim_frequency"] == pytest.approx(3.0), "tenure under a year counts as a year"
    assert row["claim_value"] == pytest.approx((1200.00 + 2999.99 + 450.55) / 3)


def centroid(**z: float) -> Centroid:
    zs = dict.fromkeys(FEATURES, 0.0) | z
    mean = {"tenure_years": 3.0, "premium": 800.0, "products_held": 1.0, "claim_frequency": 0.3, "claim_value": 2e3}
    return Centroid(z=zs, mean=mean, claim_ratio=1.0)


@pytest.mark.parametrize(
    ("shape", "name"),
    [
        (centroid(tenure_years=1.4, products_held=1.1), "long-standing"),
        (
            Centroid(
                z=dict.fromkeys(FEATURES, 0.0) | {"tenure_years": 1.4, "products_held": 1.2},
                mean={
                    "tenure_years": 9,
                    "premium": 2e3,
                    "products_held": 2.4,
                    "claim_frequency": 0.2,
                    "claim_value": 1,
                },
                claim_ratio=1.0,
            ),
            "long-standing multi-product",
        ),
        (centroid(tenure_years=-1.2, premium=-0.9), "new low-premium"),
        (centroid(claim_frequency=2.5), "frequent claimants"),
        (centroid(), "typical"),
    ],
)
def test_a_segment_is_named_from_what_sets_its_centroid_apart(shape, name):
    assert segment_name(shape) == name


def test_names_cover_cover_ended_and_claim_free_segments():
    lapsed = Centroid(
        z=dict.fromkeys(FEATURES, 0.0) | {"products_held": -1.1, "claim_frequency": -0.8},
        mean={"tenure_years": 2, "premium": 0, "products_held": 0.0, "claim_frequency": 0.0, "claim_value": 0},
        claim_ratio=None,
    )
    assert segment_name(lapsed) == "lapsed claim-free"
    large = Centroid(z=dict.fromkeys(FEATURES, 0.0), mean=centroid().mean, claim_ratio=3.0)
    assert segment_name(large) == "large-claim"
    assert segmentation.segment_names([centroid(), centroid()]) == ["typical 1", "typical 2"]


# --- the customers feed: the segment where agents and BI tools read it --------------------------------------------


def test_the_customers_feed_carries_the_segment_within_each_callers_scope(generated, personas, api_client, db):
    run = segmentation_run(actor=generated.actor, k=3, seed=SEED)
    names = {segment["name"] for segment in run.segments}

    mine = walk(api_client(personas.alice_agent), "customers")
    assert [row["customer_id"] for row in mine] == [personas.alice.pk], "an agent sees their own customers only"
    assert mine[0]["segment"] in names
    assert mine[0]["segmentation_run_id"] == run.pk
    assert mine[0]["agent_id"] == personas.alice.customer_profile.agent_id
    theirs = walk(api_client(personas.other_agent), "customers")
    assert [row["customer_id"] for row in theirs] == [personas.bob.pk]

    generated_agent = CustomerProfile.objects.exclude(agent=None).exclude(agent__user=personas.alice_agent).first()
    agent_user = generated_agent.agent.user
    served = set(CustomerProfile.objects.filter(agent__user=agent_user).values_list("user_id", flat=True))
    rows = walk(api_client(agent_user), "customers", page_size=7)
    assert {row["customer_id"] for row in rows} == served
    assert all(row["segment"] in names for row in rows)
    assert {
        row["customer_id"] for row in walk(api_client(agent_user), "customers", segment=rows[0]["segment"])
    } <= served

    everyone = walk(api_client(personas.underwriter), "customers", page_size=500)
    assert len(everyone) == CustomerProfile.objects.count()
    assert {row["segment"] for row in everyone} == names
    assert api_client(personas.alice).get("/api/analytics/customers/").status_code == 403


def test_a_new_segmentation_reaches_an_incremental_refresh(generated, personas, analytics_client, db):
    segmentation_run(actor=generated.actor, k=3, seed=SEED)
    caller = analytics_client(personas.analyst)
    since = timezone.now().isoformat()
    assert walk(caller, "customers", updated_after=since, page_size=1000) == []
    segmentation_run(actor=generated.actor, k=4, seed=SEED)
    refreshed = walk(caller, "customers", updated_after=since, page_size=1000)
    assert len(refreshed) == CustomerProfile.objects.count()
    assert {row["segment_label"] for row in refreshed} == {0, 1, 2, 3}


def test_unsegmented_customers_have_an_empty_segment(book, personas, analytics_client):
    rows = walk(analytics_client(personas.analyst), "customers")
    assert {row["customer_id"] for row in rows} >= {personas.alice.pk, personas.bob.pk}
    assert all(row["segment"] is None and row["premium_in_force"] is None for row in rows)
    assert not CustomerSegment.objects.exists()
