"""The policy timeline: one readable event per thing that happened, written in the same transaction."""

from .models import Policy, PolicyEvent


def record(*, policy: Policy, kind: str, actor, message: str, **data) -> PolicyEvent:
    return PolicyEvent.objects.create(policy=policy, kind=kind, actor=actor, message=message, data=data)
