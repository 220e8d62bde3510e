"""The analytics API: fact feeds for BI tools (JSON pages or a CSV stream) and the data dictionary.

Who: agents (their book), underwriters, admins and analytics readers; customers and users without a role get 403.
Each feed also needs the view permission of its model, so an agent reads claims, policies, instalments and
payments but not reserves or fraud scores. Analytics readers come with an expiring analytics token or a session,
never with a DRF token that does not expire.
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import Http404, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response

from accounts.choices import DataAccessAction
from accounts.services import record_data_access
from insurance.core.api.exceptions import ErrorSerializer
from insurance.core.api.permissions import model_permission, view_model
from insurance.core.roles import Role, has_role

from .. import selectors
from ..models import AnalyticsToken
from . import dictionary
from .feeds import CLAIMS, CUSTOMERS, FRAUD_SCORES, INSTALMENTS, PAYMENTS, POLICIES, RESERVES, Feed, readable_feeds
from .pagination import CONTROL_PARAMS, STREAM_CHUNK_SIZE, KeysetPagination, keyset_chunks, start_position
from .pgcsv import copy_chunks, database_writes_csv
from .renderers import CSVRenderer
from .rows import RowFormat

PAGING = (
    "JSON pages of `page_size` rows in key order with a `next` link (keyset: every page costs the same) and the "
    "walk's `as_of`; `Accept: text/csv` or `?format=csv` streams the whole filtered feed as CSV with the same "
    "columns. Each walk reads every row that existed when it began exactly once; refresh with `updated_after`."
)


def refuse_unknown_parameters(request, known: Iterable[str], *, takes: str) -> None:
    """A 400 naming each query parameter not in `known`: a misspelt filter must never be ignored (and widen the
    rows) silently."""
    known = set(known)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise exceptions.ValidationError({name: [f"Unknown parameter; {takes}: {listed}."] for name in unknown})


class AnalyticsPermission(BasePermission):
    """Analytics roles only, with the feed's view permission (its model's, unless the feed names another; a view
    without a model needs none)."""

    message = "Analytics are for agents, underwriters, admins and analytics readers."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if has_role(user, Role.ANALYTICS_READER) and not (
            request.auth is None or isinstance(request.auth, AnalyticsToken)
        ):
            # A DRF token never expires; a BI service account's credential must (manage.py issue_analytics_token).
            raise exceptions.AuthenticationFailed("Analytics readers authenticate with an expiring analytics token.")
        if not selectors.may_use_analytics(user):
            return False
        feed = getattr(view, "feed", None)
        if feed is not None:
            return user.has_perm(feed.view_permission)
        model = view_model(view)
        return model is None or user.has_perm(model_permission(model, "view"))


class AnalyticsAPIView(GenericAPIView):
    """Read-only; errors are the API's JSON error body whatever format was asked for."""

    permission_classes = [AnalyticsPermission]
    http_method_names = ["get", "head", "options"]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF answers an unknown ?format= with 404; it is bad input
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise exceptions.ValidationError({"format": [f"One of: {formats}."]}) from None

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def options(self, request, *args, **kwargs):
        """The metadata is JSON whatever format was asked for: CSV renders only a feed's stream (it was a 500)."""
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return super().options(request, *args, **kwargs)


class Echo:
    """A file-like object whose write returns the line it was given, so `csv.writer` yields lines to stream.

    The writer ends lines with CRLF, so that it quotes a cell holding a carriage return or a newline, as
    PostgreSQL's COPY does; the line is passed on with a newline, COPY's line ending: both paths write the same
    bytes."""

    def write(self, value: str) -> str:
        return value[:-2] + "\n"


class FeedView(AnalyticsAPIView, ListAPIView):
    """One feed: JSON pages (keyset) or, asked for CSV, the whole filtered feed streamed."""

    feed: Feed
    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.queryset = cls.feed.model._default_manager.all()  # names the model for the permission check
        cls.serializer_class = cls.feed.serializer
        cls.filterset_class = cls.feed.filterset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.feed.model._default_manager.none()
        return self.feed.rows(user=self.request.user)

    def list(self, request, *args, **kwargs):
        refuse_unknown_parameters(
            request, {*self.filterset_class.base_filters, *CONTROL_PARAMS}, takes="this feed takes"
        )
        queryset = self.filter_queryset(self.get_queryset())
        row_format = RowFormat.build(
            self.feed.serializer, sees_handler_columns=selectors.sees_handler_columns(request.user)
        )
        # The read audit: one row per feed request (the kind of rows and how many), never one per row.
        if request.accepted_renderer.format == CSVRenderer.format:
            record_data_access(actor=request.user, action=DataAccessAction.EXPORT, model=self.feed.model)
            return self.stream_csv(queryset, row_format)
        rows = self.paginator.paginate(queryset, request, row_format.paths)
        record_data_access(actor=request.user, action=DataAccessAction.EXPORT, model=self.feed.model, count=len(rows))
        return self.paginator.get_paginated_response([row_format.json_row(row) for row in rows])

    def stream_csv(self, queryset, row_format: RowFormat) -> StreamingHttpResponse:
        """A header, then the rows a chunk at a time (indexed queries per chunk): memory stays flat. PostgreSQL
        writes the rows itself (`pgcsv`, many times faster); other databases get them written here."""
        position = start_position(self.request, queryset)

        def lines() -> Iterator[str | bytes]:
            writer = csv.writer(Echo(), lineterminator="\r\n")
            yield writer.writerow(row_format.names)
            if database_writes_csv(queryset):
                yield from copy_chunks(queryset, row_format, position, STREAM_CHUNK_SIZE)
                return
            for chunk in keyset_chunks(queryset, row_format.paths, position, STREAM_CHUNK_SIZE):
                yield "".join(writer.writerow(row_format.csv_row(row)) for row in chunk)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.feed.name}.csv"'
        response["X-Analytics-As-Of"] = position.as_of.isoformat()
        return response


FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="csv streams the whole filtered feed (or send Accept: text/csv)."
)
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Unknown parameter, malformed value, bad cursor or page size."),
    401: OpenApiResponse(ErrorSerializer, description="No, invalid or expired credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Customers, and feeds outside the caller's permissions."),
}


def _feed_responses(feed: Feed) -> dict:
    return {
        (200, "application/json"): feed.serializer(many=True),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The whole filtered feed, streamed."),
        **ERRORS,
    }


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(CLAIMS))
class ClaimFeedView(FeedView):
    """Claims, one row per claim as it stands now. Agents see their book, without handler columns."""

    feed = CLAIMS


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(POLICIES))
class PolicyFeedView(FeedView):
    """Policies and quotes, one row each as it stands now."""

    feed = POLICIES


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(INSTALMENTS))
class InstalmentFeedView(FeedView):
    """Premium instalments, one row each."""

    feed = INSTALMENTS


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(PAYMENTS))
class PaymentFeedView(FeedView):
    """Claim payments (append-only)."""

    feed = PAYMENTS


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(RESERVES))
class ReserveFeedView(FeedView):
    """Reserve movements (append-only). Underwriters, admins and analytics readers."""

    feed = RESERVES


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(FRAUD_SCORES))
class FraudScoreFeedView(FeedView):
    """Fraud scores (append-only), without features or explanations. Underwriters, admins and analytics readers."""

    feed = FRAUD_SCORES


@extend_schema(tags=["analytics"], parameters=[FORMAT_PARAMETER], responses=_feed_responses(CUSTOMERS))
class CustomerFeedView(FeedView):
    """Customers, one row each, with their current segment. Agents see their own customers: this is where an agent
    reads a customer's segment (the accounts API cannot show it: accounts sits below reports)."""

    feed = CUSTOMERS


FEED_VIEWS: tuple[type[FeedView], ...] = (
    ClaimFeedView,
    PolicyFeedView,
    InstalmentFeedView,
    PaymentFeedView,
    ReserveFeedView,
    FraudScoreFeedView,
    CustomerFeedView,
)


@extend_schema(
    tags=["analytics"],
    parameters=[OpenApiParameter("format", str, enum=["json", "html"], description="html: a page for people.")],
    responses={200: dictionary.DataDictionarySerializer, (200, "text/html"): OpenApiTypes.STR, **ERRORS},
)
class DataDictionaryView(AnalyticsAPIView):
    """Every feed the caller may read, with each column's type and description and each filter, generated from the
    feeds' serializers. JSON, or an HTML page (`?format=html`, or a browser's Accept)."""

    renderer_classes = [JSONRenderer, TemplateHTMLRenderer]
    template_name = "reports/dictionary.html"
    serializer_class = dictionary.DataDictionarySerializer

    def get(self, request) -> Response:
        feeds = [dictionary.feed_entry(feed) for feed in readable_feeds(request.user)]
        return Response({"feeds": feeds, "paging": PAGING})
