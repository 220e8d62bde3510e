"""The fraud features: one pure function over inputs that `gather()` (one claim, bounded queries) and `gather_many()`
(set-based, chunked) read alike, counting only what was known when the claim was reported."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import CustomerProfile
from claims.choices import ClaimStatus, DocumentStatus, DocumentType, InvestigationOutcome
from claims.models import Claim, ClaimDocument, ClaimEvent, ExtractedField
from etl.generator import generate_book
from etl.generator.plan import build_plan
from etl.generator.pools import claim_number, customer_reference
from fraud.features import (
    COMPARABLE_MIN,
    FEATURE_DESCRIPTIONS,
    SCHEMA_VERSION,
    FeatureInputs,
    describe,
    features,
    fingerprint,
    gather,
    gather_many,
    label,
)
from fraud.rules import rule_score
from insurance.core.audit import system_account
from policies.models import CoverageLine, InsuredVehicle, Policy, Product
from tests.accounts.factories import AgentProfileFactory, CustomerProfileFactory, UserFactory
from tests.policies.factories import make_test_product

D = Decimal
SEED = 11
CLAIMS = 1200
DOCUMENTS = 30
AS_OF = date(2025, 6, 30)
MAX_QUERIES = 13  # gather(): a fixed number, whatever the size of the book
NUMBERS = count(1)
HISTORY = {
    "claimant_prior_claims",
    "claimant_prior_amount",
    "claimant_prior_denied",
    "claimant_prior_fraud",
    "claimant_days_since_last_claim",
    "policy_prior_claims",
    "policy_prior_amount",
    "policy_prior_denied",
}


def at(day: int, hour: int = 12) -> datetime:
    """A moment in 2025: `at(10)` is noon on 11 January."""
    return datetime(2025, 1, 1, hour, tzinfo=UTC) + timedelta(days=day)


def make_policy(holder, *, product=None, vin: str = "", effective=date(2024, 7, 1), attributes=None) -> Policy:
    product = product or Product.objects.get(code="test-auto")
    policy = Policy.objects.create(
        number=f"TP-{next(NUMBERS):06d}",
        product=product,
        holder=holder,
        effective_date=effective,
        expiry_date=effective + timedelta(days=365),
        currency="USD",
        premium=D("600"),
        underwriting_outcome="pass",
        status="in_force",
        attributes=attributes or {},
    )
    for coverage in product.coverages.all():
        CoverageLine.objects.create(
            policy=policy, coverage=coverage, limit=coverage.default_limit, deductible=D("0"), premium=D("100")
        )
    if vin is not None and product.line_of_business == "auto":
        InsuredVehicle.objects.create(policy=policy, make="Ford", model="Focus", year=2020, vin=vin, value=D("18000"))
    return policy


def make_claim(policy, *, reported: datetime, incident: datetime | None = None, claimant=None, **fields) -> Claim:
    claimant = claimant or policy.holder
    values = {
        "loss_type": "collision",
        "amount_claimed": D("1000"),
        "currency": "USD",
        "incident_place": "High Street",
        "description": "Rear-ended",
        **fields,
    }
    return Claim.objects.create(
        number=f"TC-{next(NUMBERS):06d}",
        policy=policy,
        claimant=claimant,
        reported_by=claimant,
        incident_at=incident or reported - timedelta(days=1),
        reported_at=reported,
        **values,
    )


def event(claim: Claim, kind: str, when: datetime) -> None:
    """A timeline event that happened at `when` (created_at is set on insert, so it is moved afterwards)."""
    made = ClaimEvent.objects.create(claim=claim, kind=kind, message=kind)
    ClaimEvent.objects.filter(pk=made.pk).update(created_at=when)


def document(claim: Claim, *, sha: str, fields: dict | None = None, **extra) -> ClaimDocument:
    values = {
        "status": DocumentStatus.DONE,
        "document_type": DocumentType.INVOICE,
        "ocr_confidence": 0.9,
        **extra,
    }
    made = ClaimDocument.objects.create(
        claim=claim,
        uploaded_by=claim.claimant,
        file=f"claims/{sha}.png",
        original_name="invoice.png",
        kind="png",
        mime="image/png",
        size=100,
        sha256=sha * (64 // len(sha)),
        **values,
    )
    for name, value in (fields or {}).items():
        raw, verified = value if isinstance(value, tuple) else (value, "")
        ExtractedField.objects.create(document=made, name=name, value=raw, verified_value=verified, confidence=0.9)
    return made


def values_of(claim) -> dict:
    return features(gather(claim))


# --- a generated book, with hand-made edge cases -------------------------------------------------------------------


@pytest.fixture(scope="class")
def book(django_db_setup, django_db_blocker, tmp_path_factory):
    """A generated book (fixed as-of date) plus edge cases: a customer without an agent or date of birth sharing a
    generated customer's phone, with imported attributes; a claim without documents; a claimant without a profile;
    a reused invoice number that only a verifier typed; a failed document; a denial and an investigation outcome."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media)), transaction.atomic():
        summary = generate_book(
            actor=system_account("command"), seed=SEED, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF, batch_size=600
        )
        plan = build_plan(seed=SEED, claims=CLAIMS, documents=DOCUMENTS, as_of=AS_OF)
        make_test_product()
        neighbour = CustomerProfile.objects.get(external_reference=customer_reference(0))
        eve = CustomerProfileFactory(
            user__username="eve",
            agent=None,
            date_of_birth=None,
            phone=neighbour.phone,
            sex="F",
            region="OH",
            attributes={"age": 41, "occupation": "chef", "months_as_customer": 12, "sex": "F", "tags": ["a"]},
        )
        vin = InsuredVehicle.objects.exclude(vin="").values_list("vin", flat=True).first()
        policy = make_policy(eve.user, vin=vin, attributes={"umbrella_limit": 0, "csl": "250/500"})
        bare = make_claim(
            policy,
            reported=at(100),
            attributes={"incident_severity": "Major Damage", "witness_present": True, "gender": "F"},
        )
        documented = make_claim(policy, reported=at(120), amount_claimed=D("2400"))
        generated_number = (
            ExtractedField.objects.filter(name="invoice_number", document__claim__reported_at__lt=at(120))
            .values_list("value", flat=True)
            .first()
        )
        document(documented, sha="ab", fields={"total_amount": "800.00", "invoice_number": ("INV-0", generated_number)})
        document(documented, sha="cd", status=DocumentStatus.FAILED, ocr_confidence=None)
        event(bare, "denied", at(110))
        Claim.objects.filter(pk=bare.pk).update(status=ClaimStatus.DENIED)
        staff = UserFactory(username="handler")
        no_profile = make_claim(policy, reported=at(130), claimant=staff)
        yield SimpleNamespace(
            summary=summary, plan=plan, eve=eve, bare=bare, documented=documented, no_profile=no_profile, vin=vin
        )
        transaction.set_rollback(True)


@pytest.mark.usefixtures("book")
class TestOnAGeneratedBook:
    def test_gather_and_gather_many_read_the_same_inputs_for_every_claim(self, db):
        many = {inputs.claim_id: inputs for inputs in gather_many(Claim.objects.all(), chunk_size=97)}
        claims = list(Claim.objects.values_list("pk", flat=True))
        assert sorted(many) == sorted(claims)
        for pk in claims:
            one = gather(pk)
            assert one == many[pk], pk
            assert features(one) == features(many[pk]), pk

    def test_gather_many_of_one_claim_is_gather(self, book, db):
        for claim in (book.bare, book.documented, book.no_profile, Claim.objects.get(number=claim_number(0))):
            assert next(gather_many(Claim.objects.filter(pk=claim.pk))) == gather(claim)
        sliced = list(gather_many(Claim.objects.order_by("pk")[:3]))
        assert [inputs.claim_id for inputs in sliced] == list(
            Claim.objects.order_by("pk").values_list("pk", flat=True)[:3]
        )

    def test_gather_runs_a_fixed_number_of_queries(self, book, db, django_assert_max_num_queries):
        busy = max(gather_many(Claim.objects.all()), key=lambda i: (i.shared_any_contact, i.claimant_prior_claims))
        for claim in (book.documented, book.bare, book.no_profile, busy.claim_id):
            with django_assert_max_num_queries(MAX_QUERIES):
                gather(claim)

    def test_gather_many_runs_a_few_queries_per_chunk_not_per_claim(self, db):
        with CaptureQueriesContext(connection) as queries:
            found = sum(1 for _ in gather_many(Claim.objects.all(), chunk_size=400))
        chunks = -(-found // 400)
        assert len(queries) <= chunks * (MAX_QUERIES + 1) + 1

    def test_features_are_plain_values_and_never_protected_attributes(self, book, db):
        for inputs in gather_many(Claim.objects.all()):
            values = features(inputs)
            json.dumps(values, allow_nan=False)
            for name, value in values.items():
                assert value is None or isinstance(value, bool | int | float | str), (name, value)
                assert name.startswith("attr.") or name in FEATURE_DESCRIPTIONS, name
            assert not {"sex", "age", "region", "age_band"} & {name.rsplit(".", 1)[-1] for name in values}
            assert set(inputs.demographics) == {"age_band", "sex", "region"}

    def test_imported_attributes_are_features_except_protected_ones(self, book, db):
        values = values_of(book.bare)
        assert values["attr.claim.incident_severity"] == "Major Damage"
        assert values["attr.claim.witness_present"] is True
        assert values["attr.customer.occupation"] == "chef"
        assert values["attr.customer.months_as_customer"] == 12
        assert values["attr.policy.umbrella_limit"] == 0
        assert values["attr.policy.csl"] == "250/500"
        assert not [name for name in values if name.split(".")[-1] in {"age", "sex", "gender", "tags"}]
        assert gather(book.bare).demographics == {"age_band": "35-44", "sex": "F", "region": "OH"}
        generated = gather(Claim.objects.get(number=claim_number(0)))
        assert generated.demographics["age_band"]
        assert generated.demographics["sex"] in {"F", "M", "X"}

    def test_the_edge_cases(self, book, db):
        bare = values_of(book.bare)
        assert bare["documents_count"] == 0
        assert bare["ocr_confidence_mean"] is None
        assert bare["documented_total"] is None
        assert bare["amount_to_documented_total"] is None
        assert bare["has_agent"] is False
        assert bare["agent_fraud_rate"] is None
        assert bare["shared_phone_customers"] >= 1
        assert bare["shared_contact_customers"] >= 1
        assert bare["vehicle_prior_claims"] >= 0
        assert bare["vehicle_other_claimants"] >= 0
        documented = values_of(book.documented)
        assert documented["documents_count"] == 2
        assert documented["documents_failed"] == 1
        assert documented["ocr_confidence_mean"] == 0.9
        assert documented["documented_total"] == 800.0
        assert documented["amount_to_documented_total"] == 3.0
        assert documented["reused_invoice_claims"] >= 1  # the number a verifier typed is a generated invoice's
        assert documented["claimant_prior_claims"] == 1
        assert documented["claimant_prior_denied"] == 1
        nobody = values_of(book.no_profile)
        assert nobody["shared_contact_customers"] == 0
        assert nobody["has_agent"] is False
        assert gather(book.no_profile).demographics == {"age_band": "", "sex": "", "region": ""}

    def test_rings_and_reused_invoices_of_the_book_show(self, book, db):
        plan = book.plan
        by_number = {inputs.claim_id: inputs for inputs in gather_many(Claim.objects.filter(number__startswith="GC-"))}
        numbers = dict(Claim.objects.values_list("number", "pk"))
        phones = dict(CustomerProfile.objects.values_list("external_reference", "phone"))
        for index in range(CLAIMS):
            inputs = by_number[numbers[claim_number(index)]]
            customer = int(plan.holder[int(plan.policies_of_claims(index, index + 1)[0])])
            if phones[customer_reference(customer)] == book.eve.phone:
                continue  # Eve shares this phone
            if int(plan.ring[customer]) >= 0:
                assert inputs.shared_any_contact >= 2, index  # rings have 3 to 8 members
            else:
                assert inputs.shared_any_contact == 0, index  # nobody else shares them
        assert plan.reuse
        for reuser, (source, kind) in plan.reuse.items():
            pair = sorted(
                (by_number[numbers[claim_number(index)]] for index in (reuser, source)), key=lambda i: i.reported_at
            )
            later = pair[1]
            assert later.reused_invoice_claims >= 1, (reuser, source, kind)
            if kind == "bytes":
                assert later.reused_document_claims >= 1, (reuser, source)

    def test_the_rule_score_ranks_confirmed_fraud_above_legitimate_claims(self, db):
        scores = {True: [], False: []}
        labelled = Claim.objects.exclude(investigation_outcome=InvestigationOutcome.UNKNOWN)
        outcomes = dict(labelled.values_list("pk", "investigation_outcome"))
        for inputs in gather_many(labelled):
            scores[label(outcomes[inputs.claim_id]) == 1].append(rule_score(features(inputs))[0])
        pairs = [(f, legit) for f in scores[True] for legit in scores[False]]
        auc = sum(1.0 if f > legit else 0.5 if f == legit else 0.0 for f, legit in pairs) / len(pairs)
        assert auc > 0.65


# --- as of the report: no leakage ----------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    """The test auto product and two customers of one agent: Carol and Dan."""
    product = make_test_product()
    agent = AgentProfileFactory(user__username="agent")
    carol = CustomerProfileFactory(user__username="carol", agent=agent, phone="614-555-0101", bank_account="B-1")
    dan = CustomerProfileFactory(user__username="dan", agent=agent, phone="614-555-0202", bank_account="B-2")
    return SimpleNamespace(product=product, agent=agent, carol=carol, dan=dan)


def test_a_later_claim_does_not_change_an_earlier_claims_history(world):
    policy = make_policy(world.carol.user, vin="")
    first = make_claim(policy, reported=at(10), amount_claimed=D("500"))
    second = make_claim(policy, reported=at(40), amount_claimed=D("700"))
    before = values_of(second)
    assert before["claimant_prior_claims"] == before["policy_prior_claims"] == 1
    assert before["claimant_prior_amount"] == 500.0
    assert before["claimant_days_since_last_claim"] == 30.0
    first_values = values_of(first)

    later = make_claim(policy, reported=at(90), amount_claimed=D("9000"))
    event(later, "denied", at(95))
    assert values_of(second) == before
    assert values_of(first) == first_values
    assert {name: values_of(later)[name] for name in ("claimant_prior_claims", "policy_prior_amount")} == {
        "claimant_prior_claims": 2,
        "policy_prior_amount": 1200.0,
    }


def test_a_denial_or_an_outcome_counts_only_once_it_was_known(world):
    policy = make_policy(world.carol.user, vin="")
    earlier = make_claim(policy, reported=at(10))
    event(earlier, "denied", at(50))  # denied after the next claim was reported
    Claim.objects.filter(pk=earlier.pk).update(
        status=ClaimStatus.DENIED, investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD
    )
    event(earlier, "investigation_outcome", at(50))
    between = make_claim(policy, reported=at(30))
    after = make_claim(policy, reported=at(60))
    assert {k: values_of(between)[k] for k in ("claimant_prior_denied", "claimant_prior_fraud")} == {
        "claimant_prior_denied": 0,
        "claimant_prior_fraud": 0,
    }
    assert {
        k: values_of(after)[k] for k in ("claimant_prior_denied", "claimant_prior_fraud", "policy_prior_denied")
    } == {
        "claimant_prior_denied": 1,
        "claimant_prior_fraud": 1,
        "policy_prior_denied": 1,
    }


def test_an_imported_denial_and_outcome_without_a_timeline_are_known_from_when_they_came_in(world):
    policy = make_policy(world.carol.user, vin="")
    imported = make_claim(
        policy,
        reported=at(-400),
        status=ClaimStatus.DENIED,
        investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD,
        closed_at=at(-300),
    )
    Claim.objects.filter(pk=imported.pk).update(updated_at=at(-200))  # imported then
    known = {"claimant_prior_denied", "claimant_prior_fraud"}

    def found(day: int) -> dict:
        values = values_of(make_claim(policy, reported=at(day)))
        return {name: values[name] for name in known}

    assert found(-350) == {"claimant_prior_denied": 0, "claimant_prior_fraud": 0}
    assert found(-250) == {"claimant_prior_denied": 0, "claimant_prior_fraud": 1}  # closed, not yet imported
    assert found(-100) == {"claimant_prior_denied": 1, "claimant_prior_fraud": 1}


def test_the_agents_record_counts_concluded_investigations_of_her_customers(world):
    carol_policy = make_policy(world.carol.user, vin="")
    dan_policy = make_policy(world.dan.user, vin="")
    fraud = make_claim(dan_policy, reported=at(1), investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)
    event(fraud, "investigation_outcome", at(20))
    legit = make_claim(dan_policy, reported=at(2), investigation_outcome=InvestigationOutcome.LEGITIMATE)
    event(legit, "investigation_outcome", at(25))
    late = make_claim(carol_policy, reported=at(3), investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)
    event(late, "investigation_outcome", at(80))
    make_claim(carol_policy, reported=at(4))  # open: never counts

    assert values_of(make_claim(carol_policy, reported=at(10)))["agent_fraud_rate"] is None
    mid = values_of(make_claim(carol_policy, reported=at(30)))
    assert mid["agent_prior_concluded"] == 2
    assert mid["agent_fraud_rate"] == 0.5
    end = values_of(make_claim(carol_policy, reported=at(90)))
    assert end["agent_prior_concluded"] == 3
    assert end["agent_fraud_rate"] == pytest.approx(2 / 3, abs=1e-6)
    other = CustomerProfileFactory(user__username="olga")
    assert values_of(make_claim(make_policy(other.user, vin=""), reported=at(90)))["agent_prior_concluded"] == 0


# --- network -------------------------------------------------------------------------------------------------------


def test_other_customers_sharing_contact_details_are_counted_once_each(world):
    carol = world.carol
    carol.address_line1, carol.postal_code = "1 Ring Road", "43215"
    carol.save()
    carol.user.email = "shared@example.com"
    carol.user.save()
    CustomerProfileFactory(user__username="p1", phone=carol.phone)
    CustomerProfileFactory(user__username="p2", phone=carol.phone, bank_account="B-1")
    CustomerProfileFactory(user__username="a1", address_line1="1 Ring Road", postal_code="43215")
    CustomerProfileFactory(user__username="a2", address_line1="1 Ring Road", postal_code="60601")  # another town
    CustomerProfileFactory(user__username="e1", user__email="shared@example.com")
    UserFactory(username="staff_same_email", email="shared@example.com")  # not a customer
    CustomerProfileFactory(user__username="blank1", phone="", bank_account="")
    world.dan.phone = ""
    world.dan.save()

    values = values_of(make_claim(make_policy(carol.user, vin=""), reported=at(10)))
    assert values["shared_phone_customers"] == 2
    assert values["shared_bank_account_customers"] == 1
    assert values["shared_address_customers"] == 1
    assert values["shared_email_customers"] == 1
    assert values["shared_contact_customers"] == 4  # p1, p2, a1, e1
    lonely = values_of(make_claim(make_policy(world.dan.user, vin=""), reported=at(10)))
    assert lonely["shared_phone_customers"] == 0  # a blank phone matches nobody


def test_earlier_claims_on_the_same_vehicle(world):
    vin = "1HGCM82633A004352"
    carol_policy = make_policy(world.carol.user, vin=vin)
    dan_policy = make_policy(world.dan.user, vin=vin)
    make_claim(dan_policy, reported=at(5))
    make_claim(carol_policy, reported=at(6))
    claim = make_claim(carol_policy, reported=at(20))
    make_claim(dan_policy, reported=at(30))  # later: not counted
    values = values_of(claim)
    assert values["vehicle_prior_claims"] == 2
    assert values["vehicle_other_claimants"] == 1
    no_vin = values_of(make_claim(make_policy(world.carol.user, vin=""), reported=at(20)))
    assert no_vin["vehicle_prior_claims"] is None
    assert no_vin["vehicle_other_claimants"] is None


def test_reused_invoices_and_documents_count_earlier_claims_only(world):
    carol_policy = make_policy(world.carol.user, vin="")
    dan_policy = make_policy(world.dan.user, vin="")
    source = make_claim(dan_policy, reported=at(5))
    document(source, sha="11", fields={"invoice_number": "INV-7", "total_amount": "900"})
    same_file = make_claim(carol_policy, reported=at(10))
    document(same_file, sha="11", fields={"invoice_number": "INV-7", "total_amount": "900"})
    same_number = make_claim(carol_policy, reported=at(20))
    document(same_number, sha="22", fields={"invoice_number": "INV-7"})
    fixed_by_a_person = make_claim(carol_policy, reported=at(30))
    document(fixed_by_a_person, sha="33", fields={"invoice_number": ("1NV-7", "INV-7")})
    unrelated = make_claim(carol_policy, reported=at(40))
    document(unrelated, sha="44", fields={"invoice_number": "INV-8"})

    found = {
        name: values_of(claim)
        for name, claim in [
            ("source", source),
            ("same_file", same_file),
            ("same_number", same_number),
            ("fixed_by_a_person", fixed_by_a_person),
            ("unrelated", unrelated),
        ]
    }
    assert found["source"]["reused_document_claims"] == found["source"]["reused_invoice_claims"] == 0
    assert found["same_file"]["reused_document_claims"] == 1
    assert found["same_file"]["reused_invoice_claims"] == 1
    assert found["same_number"]["reused_document_claims"] == 0
    assert found["same_number"]["reused_invoice_claims"] == 2
    assert found["fixed_by_a_person"]["reused_invoice_claims"] == 3
    assert found["unrelated"]["reused_invoice_claims"] == 0
    assert found["same_file"]["documented_total"] == 900.0
    assert found["same_number"]["documented_total"] is None


def test_comparable_claims_are_the_latest_of_the_same_loss_type_before_the_claim(world):
    policy = make_policy(world.carol.user, vin="")
    for day, amount in enumerate((100, 200, 300, 400, 500, 600)):
        make_claim(policy, reported=at(day), amount_claimed=D(amount))
    make_claim(policy, reported=at(7), amount_claimed=D("99999"), loss_type="injury")  # another loss type
    claim = make_claim(policy, reported=at(10), amount_claimed=D("1050"))
    values = values_of(claim)
    assert values["comparable_claims"] == 6
    assert values["amount_to_comparable_median"] == 3.0
    make_claim(policy, reported=at(50), amount_claimed=D("5"))
    assert values_of(claim) == values  # a later claim changes nothing
    few = make_claim(policy, reported=at(2, hour=13))
    assert values_of(few)["comparable_claims"] == 3 < COMPARABLE_MIN
    assert values_of(few)["amount_to_comparable_median"] is None


def test_gather_and_gather_many_agree_on_the_hand_made_cases(world):
    vin = "1HGCM82633A004352"
    world.dan.phone = world.carol.phone
    world.dan.save()
    carol_policy = make_policy(world.carol.user, vin=vin, attributes={"csl": "100/300"})
    dan_policy = make_policy(world.dan.user, vin=vin)
    first = make_claim(dan_policy, reported=at(1), investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD)
    event(first, "denied", at(3))
    event(first, "investigation_outcome", at(4))
    document(first, sha="aa", fields={"invoice_number": "INV-1", "total_amount": "100"})
    for day in range(2, 12):
        claim = make_claim(carol_policy if day % 2 else dan_policy, reported=at(day), amount_claimed=D(100 * day))
        if day % 3 == 0:
            document(claim, sha="aa" if day == 6 else f"{day:02d}", fields={"invoice_number": ("X", "INV-1")})
    make_claim(carol_policy, reported=at(5), attributes={"incident_severity": "Minor"}, loss_type="injury")
    for inputs in gather_many(Claim.objects.all(), chunk_size=3):
        assert inputs == gather(inputs.claim_id)


# --- the pure function ---------------------------------------------------------------------------------------------


def inputs(**overrides) -> FeatureInputs:
    values = {
        "claim_id": 1,
        "reported_at": datetime(2025, 3, 24, 9, tzinfo=UTC),  # a Monday
        "incident_at": datetime(2025, 3, 22, 23, 30, tzinfo=UTC),  # the Saturday before, at night
        "loss_type": "theft",
        "amount_claimed": D("9000.00"),
        "currency": "USD",
        "line_of_business": "auto",
        "policy_effective_date": date(2025, 3, 1),
        "policy_expiry_date": date(2026, 3, 1),
        "policy_premium": D("900"),
        "covering_limit": D("25000"),
        "total_limit": D("150000"),
        "comparable_count": 101,
        "comparable_median": 3000.0,
        "documents": 1,
        "ocr_confidences": [0.8, 0.9],
        "documented_total": D("3000"),
        "has_agent": True,
        "agent_prior_concluded": 4,
        "agent_prior_fraud": 1,
        "claim_attributes": {"incident_severity": "Major Damage", "age": 30},
        "demographics": {"age_band": "25-34", "sex": "F", "region": "OH"},
    }
    return FeatureInputs(**{**values, **overrides})


def test_features_is_a_pure_function_of_its_inputs():
    values = features(inputs())
    assert values == features(inputs())
    assert {name: values[name] for name in values if name in FEATURE_DESCRIPTIONS and name not in HISTORY} == {
        "days_inception_to_incident": 21,
        "days_incident_to_report": 1.3958,
        "days_to_expiry": 344,
        "incident_weekday": 5,
        "incident_hour": 23,
        "weekend_night": True,
        "loss_type": "theft",
        "line_of_business": "auto",
        "injury": False,
        "amount_claimed": 9000.0,
        "covered": True,
        "amount_to_limit": 0.36,
        "amount_to_total_limit": 0.06,
        "amount_to_insured_value": None,
        "amount_to_premium": 10.0,
        "comparable_claims": 101,
        "amount_to_comparable_median": 3.0,
        "police_report_filed": False,
        "witness_count": 0,
        "weekend_night_no_police": True,
        "reported_by_claimant": True,
        "shared_address_customers": 0,
        "shared_phone_customers": 0,
        "shared_email_customers": 0,
        "shared_bank_account_customers": 0,
        "shared_contact_customers": 0,
        "vehicle_prior_claims": None,
        "vehicle_other_claimants": None,
        "reused_document_claims": 0,
        "reused_invoice_claims": 0,
        "has_agent": True,
        "agent_prior_concluded": 4,
        "agent_fraud_rate": 0.25,
        "documents_count": 1,
        "documents_failed": 0,
        "ocr_confidence_mean": 0.85,
        "documented_total": 3000.0,
        "amount_to_documented_total": 3.0,
    }
    assert values["attr.claim.incident_severity"] == "Major Damage"
    assert "attr.claim.age" not in values
    assert "25-34" not in values.values()
    assert set(FEATURE_DESCRIPTIONS) - {"attr.claim.", "attr.customer.", "attr.policy."} <= set(values)


def test_unknowns_are_none_not_guesses():
    values = features(inputs(covering_limit=None, comparable_count=3, documented_total=None, has_agent=False))
    assert values["covered"] is False
    assert values["amount_to_limit"] is None
    assert values["amount_to_comparable_median"] is None
    assert values["amount_to_documented_total"] is None
    assert values["agent_fraud_rate"] is None
    assert values["agent_prior_concluded"] is None


def test_the_schema_has_a_version():
    assert SCHEMA_VERSION == "1"


def test_the_fingerprint_is_stable_and_tied_to_every_value():
    values = features(inputs())
    first = fingerprint(values)
    assert len(first) == 64
    assert first == fingerprint(dict(reversed(list(values.items()))))
    assert first == fingerprint(json.loads(json.dumps(values)))  # as stored in a JSONField
    assert fingerprint({**values, "witness_count": 1}) != first
    assert fingerprint({**values, "attr.claim.incident_severity": "Minor Damage"}) != first
    assert fingerprint(features(inputs(amount_claimed=D("9000.01")))) != first


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (InvestigationOutcome.CONFIRMED_FRAUD, 1),
        (InvestigationOutcome.LEGITIMATE, 0),
        (InvestigationOutcome.UNKNOWN, None),
    ],
)
def test_label_comes_from_the_investigation_outcome(outcome, expected):
    assert label(SimpleNamespace(investigation_outcome=outcome)) == expected
    assert label(outcome) == expected


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("days_incident_to_report", 45.2, "reported 45 days after the incident"),
        ("days_incident_to_report", 0.25, "reported 6 hours after the incident"),
        ("days_inception_to_incident", 12, "the incident 12 days after the policy started"),
        ("attr.claim.incident_severity", "Major Damage", "incident_severity is Major Damage"),
        ("amount_to_comparable_median", 2.4, "the amount is 2.4 times the median of comparable claims"),
        ("amount_to_comparable_median", 0.5, "the amount is 50% of the median of comparable claims"),
        ("weekend_night_no_police", True, "a weekend-night incident without a police report"),
        ("shared_phone_customers", 3, "3 other customers have the same phone"),
        ("reused_invoice_claims", 1, "the invoice number is on an earlier claim"),
        ("incident_weekday", 6, "the incident on a Sunday"),
        ("agent_fraud_rate", 0.25, "25% of the agent's customers' concluded claims were fraud"),
        ("amount_to_documented_total", None, "amount against the documented total: unknown"),
        ("some_future_feature", 3, "some future feature is 3"),
    ],
)
def test_describe_turns_a_value_into_a_phrase(name, value, phrase):
    assert describe(name, value) == phrase


def test_every_feature_has_a_description_and_a_phrase():
    for name, value in features(inputs()).items():
        phrase = describe(name, value)
        assert phrase, name
        assert "{" not in phrase, name
