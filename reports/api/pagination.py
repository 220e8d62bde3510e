"""Keyset pagination for the analytics feeds: the page after row N is `id > N ORDER BY id LIMIT size`, read from
the primary key index, so page 10,000 costs what page 1 does (no OFFSET, no COUNT).

Why the id and not (updated_at, id). A walk through a feed may take minutes while claims keep changing. Ordered by
`updated_at`, a row updated after its page was read moves behind the cursor and is read twice, and with an upper
bound on `updated_at` a row updated before its page was read drops out of the walk. The id never changes, so a walk
reads each row exactly once, with its values as of the moment its page was read. Changes that happen during the
walk are picked up by the next refresh (`updated_after` = this walk's `as_of`, minus an overlap for transactions
that committed late). For append-only facts (payments, reserve movements, fraud scores) the id order is their
creation order.

A walk is a snapshot of which rows exist: the first page records the highest id (`upto`) and the time (`as_of`);
rows created during the walk wait for the next refresh. The cursor carries both, signed (a tampered cursor is a 400),
with a fingerprint of the filters, so a cursor cannot be replayed against another query.
"""

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

CURSOR_SALT = "reports.analytics.cursor"
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
FORMAT_PARAM = "format"
CONTROL_PARAMS = frozenset({CURSOR_PARAM, PAGE_SIZE_PARAM, FORMAT_PARAM})
STREAM_CHUNK_SIZE = 20_000  # rows per chunk of a CSV stream (one COPY each on PostgreSQL)


@dataclass(frozen=True)
class Position:
    """Where a walk stands: after this id, up to the highest id when it began, begun at `as_of`."""

    after: int
    upto: int
    as_of: datetime


def query_fingerprint(request) -> str:
    """The filters of a request, order-insensitive, without the paging parameters."""
    items = sorted(
        (name, value) for name, values in request.query_params.lists() if name not in CONTROL_PARAMS for value in values
    )
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


def encode_cursor(position: Position, fingerprint: str) -> str:
    payload = {"a": position.after, "u": position.upto, "t": position.as_of.isoformat(), "q": fingerprint}
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def new_walk(queryset: QuerySet) -> Position:
    """A walk over the rows that exist now (of the whole table: the filters only skip rows within it)."""
    highest = queryset.model._default_manager.aggregate(highest=Max("pk"))["highest"] or 0
    return Position(after=0, upto=highest, as_of=timezone.now())


def start_position(request, queryset: QuerySet) -> Position:
    """From the request's cursor, or a new walk over the rows that exist now."""
    cursor = request.query_params.get(CURSOR_PARAM)
    if cursor is None:
        return new_walk(queryset)
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT)
        position = Position(after=int(payload["a"]), upto=int(payload["u"]), as_of=parse_datetime(payload["t"]))
        fingerprint = payload["q"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(
            {CURSOR_PARAM: ["Invalid cursor: use the `next` link of the previous page as is."]}
        ) from None
    if position.as_of is None:
        raise ValidationError({CURSOR_PARAM: ["Invalid cursor: use the `next` link of the previous page as is."]})
    if fingerprint != query_fingerprint(request):
        raise ValidationError({CURSOR_PARAM: ["This cursor belongs to a query with other filters."]})
    return position


def window(queryset: QuerySet, after: int, upto: int) -> QuerySet:
    """The rows with an id after `after` up to `upto`, in id order."""
    return queryset.filter(pk__gt=after, pk__lte=upto).order_by("pk")


def read_after(queryset: QuerySet, paths: Sequence[str], position: Position, limit: int) -> list[tuple]:
    """Up to `limit` rows after `position`, in id order, each `(id, *paths)`: one query on the primary key index."""
    return list(window(queryset, position.after, position.upto).values_list("pk", *paths)[:limit])


def keyset_chunks(queryset: QuerySet, paths: Sequence[str], position: Position, size: int) -> Iterator[list[tuple]]:
    """The whole walk from `position`, `size` rows (as `paths` tuples) at a time: memory holds one chunk whatever
    the size of the feed."""
    while True:
        rows = read_after(queryset, paths, position, size)
        if not rows:
            return
        position = Position(after=rows[-1][0], upto=position.upto, as_of=position.as_of)
        yield [row[1:] for row in rows]
        if len(rows) < size:
            return


def keyset_ranges(queryset: QuerySet, position: Position, size: int) -> Iterator[tuple[int, int]]:
    """The walk from `position` as id ranges `(after, upper]` of `size` rows each (the last may hold fewer), for a
    reader that fetches a chunk's rows itself (the database writing CSV): one query on the primary key index per
    range, reading ids only."""
    after = position.after
    while True:
        ids = window(queryset, after, position.upto).values_list("pk")[:size]
        found = ids.aggregate(upper=Max("pk"), rows=Count("pk"))
        if not found["rows"]:
            return
        yield after, found["upper"]
        after = found["upper"]
        if found["rows"] < size:
            return


class KeysetPagination(BasePagination):
    """`?page_size=` (default `ANALYTICS_PAGE_SIZE`, at most `ANALYTICS_MAX_PAGE_SIZE`; more is a 400) and an
    opaque `?cursor=` from the previous page's `next` link."""

    def page_size(self, request) -> int:
        text = request.query_params.get(PAGE_SIZE_PARAM)
        if text is None:
            return settings.ANALYTICS_PAGE_SIZE
        limit = settings.ANALYTICS_MAX_PAGE_SIZE
        try:
            size = int(text)
        except ValueError:
            raise ValidationError({PAGE_SIZE_PARAM: ["A whole number is required."]}) from None
        if not 1 <= size <= limit:
            raise ValidationError({PAGE_SIZE_PARAM: [f"Must be between 1 and {limit}."]})
        return size

    def paginate(self, queryset: QuerySet, request, paths: Sequence[str]) -> list[tuple]:
        """One page of rows; reads one row more than the page to know whether there is a next page."""
        size = self.page_size(request)
        position = start_position(request, queryset)
        rows = read_after(queryset, paths, position, size + 1)
        self.request = request
        self.as_of = position.as_of
        self.next_position = None
        if len(rows) > size:
            rows = rows[:size]
            self.next_position = Position(after=rows[-1][0], upto=position.upto, as_of=position.as_of)
        return [row[1:] for row in rows]

    def next_link(self) -> str | None:
        if self.next_position is None:
            return None
        cursor = encode_cursor(self.next_position, query_fingerprint(self.request))
        return replace_query_param(self.request.build_absolute_uri(), CURSOR_PARAM, cursor)

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.next_link(), "as_of": self.as_of, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "as_of", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page, with the same filters; null on the last page.",
                },
                "as_of": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When this walk began: the rows are those that existed then. Pass it (minus a "
                    "few minutes) as `updated_after` for the next incremental refresh.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "Opaque position from the previous page's `next` link.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {settings.ANALYTICS_PAGE_SIZE}, at most "
                f"{settings.ANALYTICS_MAX_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.ANALYTICS_MAX_PAGE_SIZE},
            },
        ]
