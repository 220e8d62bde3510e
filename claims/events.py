"""The claim timeline: one readable event per thing that happened, written in the same transaction."""

from .models import Claim, ClaimEvent


def record(
    *,
    claim: Claim,
    kind: str,
    actor,
    message: str,
    from_status: str = "",
    to_status: str = "",
    customer_visible: bool = True,
    **data,
) -> ClaimEvent:
    return ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        actor=actor,
        message=message[:500],
        from_status=from_status,
        to_status=to_status,
        customer_visible=customer_visible,
        data=data,
    )
