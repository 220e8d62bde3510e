"""The claim workflow: every action, the states it may start from and the state it leads to (None: unchanged)."""

from insurance.core.exceptions import TransitionNotAllowed

from .choices import ClaimStatus as S

OPEN = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.INVESTIGATION, S.REOPENED})

TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "route_to_review": (frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.REOPENED}), S.UNDER_REVIEW),
    "investigate": (frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.REOPENED}), S.INVESTIGATION),
    "approve": (OPEN, S.APPROVED),
    "partially_approve": (OPEN, S.PARTIALLY_APPROVED),
    "deny": (OPEN, S.DENIED),
    "request_documents": (OPEN, None),
    "pay": (frozenset({S.APPROVED, S.PARTIALLY_APPROVED}), None),  # becomes PAID once fully paid
    "close": (frozenset({S.PAID, S.DENIED, S.APPROVED, S.PARTIALLY_APPROVED}), S.CLOSED),
    "reopen": (frozenset({S.CLOSED, S.DENIED}), S.REOPENED),
}
# Statuses in which the engine may still decide by itself.
AUTOMATIC = frozenset({S.SUBMITTED, S.UNDER_REVIEW})


def public_status(status: str) -> str:
    """What a claimant or agent is told: an investigation looks like any other review from outside."""
    return S.UNDER_REVIEW if status == S.INVESTIGATION else status


def shown_status(status: str, *, handler: bool) -> tuple[str, str]:
    """(value, label) of a claim status as this user is told it: handlers see it as it is, others `public_status`.
    Every page showing a claim's status goes through here (the `claim_status` template tag, the claim pages)."""
    value = status if handler else public_status(status)
    return value, S(value).label


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def check(status: str, action: str) -> str:
    """The status after `action` from `status`, or TransitionNotAllowed (409) naming what is allowed."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise TransitionNotAllowed(current=status, requested=action, allowed=allowed_actions(status))
    return target or status
