"""The decision engine as a table: each branch, its outcome, priority, payable amount and recorded reasons."""

from decimal import Decimal

import pytest

from claims.choices import DecisionOutcome, Priority
from claims.decisions import DecisionInputs, Thresholds, decide

D = Decimal
THRESHOLDS = Thresholds(
    auto_approve_limit=D("2500"),
    fraud_referral_score=D("0.7"),
    cost_tolerance_pct=D("20"),
    required_documents=["invoice"],
    comparable_factor=D("2"),
    comparable_min_count=5,
)
CLEAN = {
    "amount_claimed": D("1200"),
    "loss_type": "collision",
    "in_force": True,
    "in_force_reason": "IN_FORCE",
    "covered": True,
    "limit": D("20000"),
    "deductible": D("500"),
    "fraud_checked": True,
    "fraud_probability": 0.1,
    "documented_total": D("1200"),
    "document_types": ["invoice"],
    "documents_pending": 0,
    "documents_failed": 0,
    "comparable_median": D("1000"),
    "comparable_count": 10,
}


def run(**changes):
    return decide(DecisionInputs(**{**CLEAN, **changes}), THRESHOLDS)


def codes(decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


CASES = [
    # name, changes, outcome, priority, payable, codes that must be present
    (
        "clean claim auto-approves",
        {},
        DecisionOutcome.APPROVE,
        Priority.LOW,
        D("700"),
        ["COVERED", "FRAUD_SCORE_LOW", "DOCUMENTS_AGREE", "AUTO_APPROVED"],
    ),
    (
        "not in force",
        {"in_force": False, "in_force_reason": "POLICY_CANCELLED"},
        DecisionOutcome.DENY,
        Priority.NORMAL,
        None,
        ["POLICY_CANCELLED"],
    ),
    (
        "loss not covered",
        {"covered": False, "limit": None},
        DecisionOutcome.DENY,
        Priority.NORMAL,
        None,
        ["LOSS_NOT_COVERED"],
    ),
    (
        "below the deductible",
        {"amount_claimed": D("400"), "documented_total": D("400")},
        DecisionOutcome.DENY,
        Priority.NORMAL,
        None,
        ["BELOW_DEDUCTIBLE"],
    ),
    (
        "over the limit goes to a person capped",
        {"amount_claimed": D("30000"), "documented_total": D("30000"), "comparable_count": 0},
        DecisionOutcome.REVIEW,
        Priority.HIGH,
        D("19500"),
        ["OVER_LIMIT", "ABOVE_AUTO_APPROVAL_LIMIT"],
    ),
    (
        "high fraud score investigates",
        {"fraud_probability": 0.85},
        DecisionOutcome.INVESTIGATE,
        Priority.HIGH,
        D("700"),
        ["FRAUD_SCORE_HIGH"],
    ),
    (
        "fraud score at the threshold investigates",
        {"fraud_probability": 0.7},
        DecisionOutcome.INVESTIGATE,
        Priority.HIGH,
        D("700"),
        ["FRAUD_SCORE_HIGH"],
    ),
    (
        "no score yet waits for a person",
        {"fraud_probability": None},
        DecisionOutcome.REVIEW,
        Priority.NORMAL,
        D("700"),
        ["FRAUD_SCORE_PENDING"],
    ),
    (
        "fraud not configured waits for a person",
        {"fraud_checked": False, "fraud_probability": None},
        DecisionOutcome.REVIEW,
        Priority.NORMAL,
        D("700"),
        ["FRAUD_NOT_CHECKED"],
    ),
    (
        "claimed far above the documents",
        {"documented_total": D("800")},
        DecisionOutcome.REVIEW,
        Priority.HIGH,
        D("700"),
        ["COST_ABOVE_DOCUMENTS"],
    ),
    (
        "within the tolerance of the documents",
        {"documented_total": D("1000")},
        DecisionOutcome.APPROVE,
        Priority.LOW,
        D("700"),
        ["DOCUMENTS_AGREE"],
    ),
    (
        "no documented total",
        {"documented_total": None, "document_types": []},
        DecisionOutcome.REVIEW,
        Priority.NORMAL,
        D("700"),
        ["NO_DOCUMENTED_TOTAL", "DOCUMENTS_MISSING"],
    ),
    (
        "far above comparable claims",
        {"comparable_median": D("500")},
        DecisionOutcome.REVIEW,
        Priority.HIGH,
        D("700"),
        ["COST_ABOVE_COMPARABLE"],
    ),
    (
        "too few comparables are ignored",
        {"comparable_median": D("100"), "comparable_count": 4},
        DecisionOutcome.APPROVE,
        Priority.LOW,
        D("700"),
        ["AUTO_APPROVED"],
    ),
    (
        "documents still being read",
        {"documents_pending": 1},
        DecisionOutcome.REVIEW,
        Priority.NORMAL,
        D("700"),
        ["DOCUMENTS_PENDING"],
    ),
    (
        "an unreadable extra document does not block",
        {"documents_failed": 1},
        DecisionOutcome.APPROVE,
        Priority.LOW,
        D("700"),
        ["DOCUMENT_UNREADABLE", "AUTO_APPROVED"],
    ),
    (
        "above the auto-approval limit",
        {"amount_claimed": D("4000"), "documented_total": D("4000"), "comparable_median": D("3000")},
        DecisionOutcome.REVIEW,
        Priority.NORMAL,
        D("3500"),
        ["ABOVE_AUTO_APPROVAL_LIMIT"],
    ),
    (
        "injury goes to a person urgently",
        {"loss_type": "injury", "amount_claimed": D("4000"), "documented_total": D("4000"), "comparable_count": 0},
        DecisionOutcome.REVIEW,
        Priority.URGENT,
        D("3500"),
        ["ABOVE_AUTO_APPROVAL_LIMIT"],
    ),
    (
        "far above the limit is high priority",
        {"amount_claimed": D("15000"), "documented_total": D("15000"), "comparable_count": 0},
        DecisionOutcome.REVIEW,
        Priority.HIGH,
        D("14500"),
        ["ABOVE_AUTO_APPROVAL_LIMIT"],
    ),
]


@pytest.mark.parametrize(
    ("name", "changes", "outcome", "priority", "payable", "expected_codes"), CASES, ids=[case[0] for case in CASES]
)
def test_decision_table(name, changes, outcome, priority, payable, expected_codes):
    decision = run(**changes)
    assert decision.outcome == outcome
    assert decision.priority == priority
    assert decision.payable == payable
    assert set(expected_codes) <= set(codes(decision)), codes(decision)
    for reason in decision.reasons:
        assert reason.message, "every reason explains itself"


def test_an_approval_has_no_blocking_reason_and_a_review_has_one():
    for _, changes, outcome, *_ in CASES:
        decision = run(**changes)
        blocking = [reason for reason in decision.reasons if reason.blocks_auto_approval]
        if outcome == DecisionOutcome.APPROVE:
            assert not blocking
        if outcome == DecisionOutcome.REVIEW:
            assert blocking


def test_an_insurer_may_allow_auto_approval_without_a_fraud_check():
    from dataclasses import replace

    allowed = replace(THRESHOLDS, auto_approve_without_fraud_check=True)
    decision = decide(DecisionInputs(**{**CLEAN, "fraud_checked": False, "fraud_probability": None}), allowed)
    assert decision.outcome == DecisionOutcome.APPROVE
    assert {"FRAUD_NOT_CHECKED", "AUTO_APPROVED"} <= set(codes(decision))
