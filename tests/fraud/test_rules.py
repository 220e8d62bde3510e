"""The rule-based score (used only while no model is in production): transparent indicators over the features,
a probability-like score, and reasons a person can read."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from fraud.features import FeatureInputs, describe, features
from fraud.rules import INTERCEPT, RULES, RULES_VERSION, rule_score

D = Decimal


def ordinary(**overrides) -> dict:
    """An unremarkable claim's features: mid-term, reported the next day, a usual amount backed by its invoice."""
    inputs = FeatureInputs(
        claim_id=1,
        reported_at=datetime(2025, 5, 14, 10, tzinfo=UTC),
        incident_at=datetime(2025, 5, 13, 15, tzinfo=UTC),  # a Tuesday afternoon
        loss_type="collision",
        amount_claimed=D("3000"),
        currency="USD",
        line_of_business="auto",
        policy_effective_date=date(2025, 1, 1),
        policy_expiry_date=date(2026, 1, 1),
        policy_premium=D("800"),
        covering_limit=D("25000"),
        total_limit=D("125000"),
        comparable_count=101,
        comparable_median=3200.0,
        has_agent=True,
        agent_prior_concluded=40,
        agent_prior_fraud=2,
    )
    return {**features(inputs), **overrides}


def test_the_version_names_the_rules():
    assert RULES_VERSION == "rules-1"
    assert len({rule.code for rule in RULES}) == len(RULES)


def test_an_ordinary_claim_scores_low_with_nothing_to_explain():
    score, contributions = rule_score(ordinary())
    assert score == pytest.approx(1 / (1 + pow(2.718281828459045, -INTERCEPT)), abs=1e-6)
    assert score < 0.05
    assert contributions == []


@pytest.mark.parametrize(
    ("feature", "value", "phrase"),
    [
        ("days_inception_to_incident", 12, "the incident 12 days after the policy started"),
        ("days_to_expiry", 5, "the incident 5 days before the policy expires"),
        ("days_incident_to_report", 45.0, "reported 45 days after the incident"),
        ("amount_to_comparable_median", 3.1, "the amount is 3.1 times the median of comparable claims"),
        ("amount_to_documented_total", 2.5, "the amount is 2.5 times the documented total"),
        ("shared_contact_customers", 4, "4 other customers share contact details"),
        ("reused_document_claims", 1, "the same document is on an earlier claim"),
        ("reused_invoice_claims", 2, "the invoice number is on 2 earlier claims"),
        ("weekend_night_no_police", True, "a weekend-night incident without a police report"),
        ("claimant_prior_denied", 1, "one earlier claim of the claimant was denied"),
        ("claimant_prior_fraud", 1, "one earlier claim confirmed as fraud"),
        ("claimant_prior_claims", 3, "the claimant has 3 earlier claims"),
        ("vehicle_other_claimants", 1, "another claimant claimed on the same vehicle"),
    ],
)
def test_each_indicator_raises_the_score_and_says_why(feature, value, phrase):
    base, _ = rule_score(ordinary())
    score, contributions = rule_score(ordinary(**{feature: value}))
    assert score > base
    assert contributions == [
        {
            "feature": feature,
            "value": value,
            "contribution": next(rule.weight for rule in RULES if rule.feature == feature and rule.weight > 0),
            "direction": "raises",
            "reason": phrase,
        }
    ]


def test_documents_that_agree_and_a_police_report_lower_it():
    score, contributions = rule_score(ordinary(amount_to_documented_total=1.0, police_report_filed=True))
    assert score < rule_score(ordinary())[0]
    assert [(c["feature"], c["direction"]) for c in contributions] == [
        ("amount_to_documented_total", "lowers"),
        ("police_report_filed", "lowers"),
    ]
    assert contributions[0]["reason"] == "the amount is 1.0 times the documented total"


def test_several_indicators_make_a_high_score_with_the_largest_reason_first():
    values = ordinary(
        days_inception_to_incident=9,
        days_incident_to_report=40.0,
        reused_document_claims=1,
        reused_invoice_claims=1,
        weekend_night_no_police=True,
        police_report_filed=False,
    )
    score, contributions = rule_score(values)
    assert score >= 0.7
    sizes = [abs(item["contribution"]) for item in contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert contributions[0]["feature"] == "reused_document_claims"
    features_named = [item["feature"] for item in contributions]
    assert "reused_invoice_claims" not in features_named  # the same file carries the same number: counted once
    for item in contributions:
        assert item["reason"] == describe(item["feature"], item["value"])
    json.dumps(contributions)


def test_the_score_stays_within_0_and_1_whatever_holds():
    everything = ordinary(
        days_inception_to_incident=1,
        days_to_expiry=3,
        days_incident_to_report=200.0,
        amount_to_comparable_median=9.0,
        amount_to_documented_total=4.0,
        shared_contact_customers=7,
        reused_document_claims=2,
        weekend_night_no_police=True,
        claimant_prior_denied=3,
        claimant_prior_fraud=2,
        claimant_prior_claims=9,
        vehicle_other_claimants=2,
    )
    score, contributions = rule_score(everything)
    assert 0.99 < score <= 1.0
    assert all(item["direction"] == "raises" for item in contributions)
    assert rule_score({})[0] == rule_score(ordinary())[0]


def test_unknown_or_odd_values_never_trigger_a_rule():
    unknown = ordinary(
        days_inception_to_incident=None,
        amount_to_comparable_median=None,
        amount_to_documented_total=None,
        shared_contact_customers="many",
    )
    assert rule_score(unknown) == rule_score(ordinary())
