"""People-readable numbers (POL-2026-000123, CLM-2026-000042): unique, in order, never reused."""

from django.db import transaction
from django.utils import timezone

from .models import NumberSequence


@transaction.atomic
def next_number(prefix: str, *, year: int | None = None, width: int = 6) -> str:
    """The next number for `prefix` this year. The counter row is locked, so concurrent callers never collide."""
    year = year or timezone.now().year
    NumberSequence.objects.get_or_create(prefix=prefix, year=year)
    sequence = NumberSequence.objects.select_for_update().get(prefix=prefix, year=year)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value", "updated_at"])
    return f"{prefix}-{year}-{sequence.last_value:0{width}d}"
