"""The rule-based fraud score, used ONLY while no model is in production (a score with method "rules" and model key
RULES_VERSION).

Transparent on purpose: a fixed list of indicators over the output of `fraud.features.features()`, each with a
weight; the score is sigmoid(INTERCEPT + the weights of the indicators that hold), so a claim with none scores
about 3 %, one strong indicator about 10 % to 15 %, three of them 60 % to 80 %. The weights follow what fraud
teams look for (and what the synthetic book plants); they are a stopgap, not a trained model. An unknown value
(None) never triggers an indicator. Change a rule, a threshold or a weight and RULES_VERSION goes up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .features import describe

RULES_VERSION = "rules-1"
INTERCEPT = -3.5


@dataclass(frozen=True)
class Rule:
    code: str
    feature: str
    weight: float  # added to the log-odds when the rule holds; negative lowers the score
    holds: Callable[[Any], bool]
    meaning: str
    unless: tuple[str, ...] = ()  # features whose rule, when it holds, already says this one's thing


RULES: tuple[Rule, ...] = (
    Rule("early_in_term", "days_inception_to_incident", 1.4, lambda v: 0 <= v < 30, "incident in the first 30 days"),
    Rule("late_in_term", "days_to_expiry", 0.8, lambda v: 0 <= v <= 21, "incident in the last 21 days of the term"),
    Rule("late_report", "days_incident_to_report", 1.5, lambda v: v >= 30, "reported 30 days or more after"),
    Rule(
        "inflated_vs_comparable",
        "amount_to_comparable_median",
        1.2,
        lambda v: v >= 2.5,
        "amount 2.5 times the median of comparable claims or more",
    ),
    Rule(
        "inflated_vs_documents",
        "amount_to_documented_total",
        1.6,
        lambda v: v >= 1.5,
        "amount 1.5 times the documented total or more",
    ),
    Rule(
        "shared_contacts",
        "shared_contact_customers",
        1.2,
        lambda v: v >= 2,
        "two or more other customers share the claimant's address, phone, email or bank account",
    ),
    Rule("reused_document", "reused_document_claims", 1.6, lambda v: v >= 1, "a document file seen on earlier claims"),
    Rule(
        "reused_invoice",
        "reused_invoice_claims",
        1.6,
        lambda v: v >= 1,
        "an invoice number seen on earlier claims",
        unless=("reused_document_claims",),  # the same file carries the same number: count the reuse once
    ),
    Rule(
        "weekend_night_no_police",
        "weekend_night_no_police",
        1.4,
        lambda v: v is True,
        "weekend night (22:00 to 05:00) and no police report",
    ),
    Rule("prior_denials", "claimant_prior_denied", 0.8, lambda v: v >= 1, "an earlier claim of the claimant denied"),
    Rule("prior_fraud", "claimant_prior_fraud", 1.5, lambda v: v >= 1, "an earlier claim confirmed as fraud"),
    Rule("repeat_claimant", "claimant_prior_claims", 0.6, lambda v: v >= 3, "three or more earlier claims"),
    Rule(
        "vehicle_other_claimants",
        "vehicle_other_claimants",
        0.8,
        lambda v: v >= 1,
        "someone else claimed earlier on the same vehicle",
    ),
    Rule(
        "documents_agree",
        "amount_to_documented_total",
        -0.6,
        lambda v: v <= 1.05,
        "the documents support the amount",
    ),
    Rule("police_report", "police_report_filed", -0.3, lambda v: v is True, "a police report was filed"),
)


def _holds(rule: Rule, values: dict) -> bool:
    value = values.get(rule.feature)
    if value is None:
        return False
    try:
        return bool(rule.holds(value))
    except TypeError:  # a value of an unexpected type never triggers a rule
        return False


def rule_score(values: dict) -> tuple[float, list[dict]]:
    """(probability-like score in [0, 1], contributions largest first) for a `features()` dict."""
    held = {rule.code: rule for rule in RULES if _holds(rule, values)}
    for rule in list(held.values()):
        if any(rule is not other and other.feature in rule.unless for other in held.values()):
            del held[rule.code]
    logit = INTERCEPT + sum(rule.weight for rule in held.values())
    contributions = [
        {
            "feature": rule.feature,
            "value": values.get(rule.feature),
            "contribution": rule.weight,
            "direction": "raises" if rule.weight > 0 else "lowers",
            "reason": describe(rule.feature, values.get(rule.feature)),
        }
        for rule in held.values()
    ]
    contributions.sort(key=lambda item: (-abs(item["contribution"]), item["feature"]))
    return round(1 / (1 + math.exp(-logit)), 6), contributions
