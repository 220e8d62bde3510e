"""The policy state machine: every action, the states it may start from and the state it leads to.

One table, read by the services (to refuse an illegal transition with 409 naming the allowed ones), the API and
the admin (to offer only what is possible), and the tests (which walk every state and action pair).
"""

from datetime import date, timedelta

from insurance.core.exceptions import TransitionNotAllowed

from .choices import PolicyStatus as S

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve_referral": (frozenset({S.REFERRED, S.DECLINED}), S.QUOTE),  # from DECLINED it is an override
    "decline_referral": (frozenset({S.REFERRED}), S.DECLINED),
    "expire_quote": (frozenset({S.QUOTE, S.REFERRED}), S.QUOTE_EXPIRED),
    "bind": (frozenset({S.QUOTE}), S.IN_FORCE),
    "endorse": (frozenset({S.IN_FORCE}), S.IN_FORCE),
    "renew": (frozenset({S.IN_FORCE}), S.IN_FORCE),  # offers a renewal quote for the next term
    "cancel": (frozenset({S.IN_FORCE}), S.CANCELLED),
    "lapse": (frozenset({S.IN_FORCE}), S.LAPSED),
    "expire": (frozenset({S.IN_FORCE}), S.EXPIRED),
    "reinstate": (frozenset({S.CANCELLED, S.LAPSED}), S.IN_FORCE),
    # At expiry, a term whose renewal was bound becomes RENEWED instead of EXPIRED.
    "mark_renewed": (frozenset({S.IN_FORCE}), S.RENEWED),
}
# Internal transitions happen as a consequence of another action, never on request.
INTERNAL_ACTIONS = frozenset({"mark_renewed"})
PUBLIC_ACTIONS = tuple(action for action in TRANSITIONS if action not in INTERNAL_ACTIONS)


def allowed_actions(status: str) -> list[str]:
    return [action for action in PUBLIC_ACTIONS if status in TRANSITIONS[action][0]]


def check(status: str, action: str) -> str:
    """The state `action` leads to from `status`, or TransitionNotAllowed (409) naming what is allowed."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise TransitionNotAllowed(current=status, requested=action, allowed=allowed_actions(status))
    return target


def lapses_on(oldest_overdue: date, grace_period_days: int) -> date:
    """The day cover ends for an unpaid instalment due on `oldest_overdue`: the day after its grace period. The
    lapse service dates a lapse so even when its run comes late, and the renewals page forecasts with it."""
    return oldest_overdue + timedelta(days=grace_period_days + 1)


def in_force_on(policy, day) -> tuple[bool, str]:
    """Whether `policy` covered `day`, and if not, why (a reason code). Cancellation and lapse end cover from their
    date; an expired or renewed policy still covered the days of its term."""
    if policy.bound_at is None or policy.status in {S.QUOTE, S.REFERRED, S.DECLINED, S.QUOTE_EXPIRED}:
        return False, "POLICY_NEVER_ISSUED"
    if day < policy.effective_date:
        return False, "BEFORE_EFFECTIVE_DATE"
    if day >= policy.expiry_date:
        return False, "AFTER_EXPIRY_DATE"
    if policy.cancelled_on and day >= policy.cancelled_on:
        return False, "POLICY_CANCELLED"
    if policy.lapsed_on and day >= policy.lapsed_on:
        return False, "POLICY_LAPSED"
    return True, "IN_FORCE"
