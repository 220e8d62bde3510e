"""`Idempotency-Key`: a retried request gets the first request's response instead of doing the work twice.

The key is claimed in its own committed transaction before the work starts, so two concurrent requests with one key
cannot both run: the second sees the first in flight (409). The same key with a different body is a client error
(422). A failed first attempt releases the key, so the client may retry it. Keys are per user: two users' equal
keys never meet.

Where a key is required: payments (money moves, a retry must never pay twice; 400 without one). Claim submission
takes one when given but never requires it: a first notice of loss from a phone or a partner is never refused.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from insurance.core.exceptions import ConflictError, ServiceError

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
# A request still "in flight" after this long died without finishing; its key may be used again.
IN_FLIGHT_EXPIRY = timedelta(minutes=10)


class IdempotencyKeyReused(ServiceError):
    status_code = 422
    code = "idempotency_key_reused"


def key_required() -> ServiceError:
    """The refusal of a request that must carry a key (a payment): without one, a client's retry could pay twice."""
    return ServiceError(
        f"The {HEADER} header is required: send a new unique key (a UUID) with each payment, and the same key "
        "when retrying it.",
        fields={HEADER: ["required"]},
        code="idempotency_key_required",
    )


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


def fingerprint(data: dict, file_hashes: list[str] = ()) -> str:
    canonical = json.dumps({"data": data, "files": list(file_hashes)}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def begin(*, user, scope: str, key: str, request_hash: str) -> IdempotencyRecord | Replay:
    key = key.strip()
    if not key or len(key) > 100:
        raise ServiceError(f"{HEADER} must be 1 to 100 characters.", fields={HEADER: ["invalid"]})
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(user=user, scope=scope, key=key, request_hash=request_hash)
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
        if record is None:
            continue  # released between our insert and our read: try to claim it again
        if not record.completed and record.created_at < timezone.now() - IN_FLIGHT_EXPIRY:
            record.delete()  # the first attempt died mid-request: let this one run
            continue
        break
    else:
        raise ConflictError(
            f"A request with this {HEADER} is changing right now; retry shortly.", code="idempotency_in_flight"
        )
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(f"This {HEADER} was already used with a different request.")
    if not record.completed:
        raise ConflictError(
            f"A request with this {HEADER} is still being processed; retry shortly.", code="idempotency_in_flight"
        )
    return Replay(status=record.response_status, body=record.response_body)


def complete(record: IdempotencyRecord, *, status: int, body: dict) -> None:
    record.completed = True
    record.response_status = status
    record.response_body = json.loads(json.dumps(body, default=str))
    record.save()


def release(record: IdempotencyRecord) -> None:
    record.delete()
