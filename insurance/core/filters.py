"""Filters shared by the API's FilterSets."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class InstantField(IsoDateTimeField):
    """An ISO-8601 instant, brought to UTC before it reaches the database.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: `2025-01-01T00:00-22:00` passed as it is
    fails in the database (a 500). In UTC it is an ordinary instant; one that leaves the calendar once in UTC
    (`0001-01-01T00:00+05:00`) is refused like any malformed value.
    """

    default_error_messages = {"out_of_range": "Enter an instant between the years 1 and 9999 in UTC."}

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    """`IsoDateTimeFilter` on `InstantField`: every datetime filter of the API."""

    field_class = InstantField
