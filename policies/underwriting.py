"""Underwriting rules, evaluated at quote time: pass, refer or decline, with every matching rule's reason code."""

from decimal import Decimal, InvalidOperation

from .choices import RuleOperator, UnderwritingOutcome
from .models import Product, UnderwritingRule


def _holds(rule: UnderwritingRule, value) -> bool:
    if value is None:
        return False
    if rule.operator == RuleOperator.IN:
        options = {option.strip().lower() for option in rule.value.split(",")}
        return str(value).strip().lower() in options
    if rule.operator == RuleOperator.EQ:
        try:
            return Decimal(str(value)) == Decimal(rule.value)
        except InvalidOperation:
            return str(value).strip().lower() == rule.value.strip().lower()
    try:
        left, right = Decimal(str(value)), Decimal(rule.value)
    except InvalidOperation:
        return False
    return {
        RuleOperator.LT: left < right,
        RuleOperator.LTE: left <= right,
        RuleOperator.GT: left > right,
        RuleOperator.GTE: left >= right,
    }[rule.operator]


def evaluate(*, product: Product, inputs: dict) -> tuple[str, list[dict]]:
    """The outcome (decline beats refer beats pass) and the reasons: code, description, outcome, value seen."""
    reasons = []
    for rule in product.underwriting_rules.filter(is_active=True).order_by("code"):
        value = inputs.get(rule.input)
        if _holds(rule, value):
            reasons.append(
                {"code": rule.code, "description": rule.description, "outcome": rule.outcome, "value": value}
            )
    outcomes = {reason["outcome"] for reason in reasons}
    if UnderwritingOutcome.DECLINE in outcomes:
        return UnderwritingOutcome.DECLINE, reasons
    if UnderwritingOutcome.REFER in outcomes:
        return UnderwritingOutcome.REFER, reasons
    return UnderwritingOutcome.PASS, reasons
