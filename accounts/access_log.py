"""Where reads of claims and personal data are recorded (`DataAccessLog`): one mixin per layer, so a view records
its reads by naming what it shows, never by remembering a call.

- `AccessLoggedViewSetMixin` for API viewsets: a retrieve records the object, a list the objects on the page.
- `AccessLoggedDetailMixin` and `AccessLoggedListMixin` for portal pages: a GET of a detail page records its object,
  a list page the objects on its page.
- `AccessLoggedAdminMixin` for the admin: opening an object's change page records it.

Only what was shown is recorded: an object out of scope is 404 before anything is written. Every mixin calls
`services.record_data_access`. They live here rather than in insurance.core, which may not import an app; the apps
above accounts (claims, reports) import them.
"""

from . import services
from .choices import DataAccessAction

READS = frozenset({"GET"})  # a HEAD shows nothing: its body is never sent


class AccessLoggedViewSetMixin:
    """For DRF viewsets: `access_logged_actions` maps a viewset action to how it reads ("view" or "list")."""

    access_logged_actions: dict[str, str] = {"retrieve": DataAccessAction.VIEW, "list": DataAccessAction.LIST}

    def get_object(self):
        obj = super().get_object()
        if self.request.method in READS and self.access_logged_actions.get(self.action) == DataAccessAction.VIEW:
            services.record_data_access(actor=self.request.user, action=DataAccessAction.VIEW, objects=[obj])
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if self.request.method in READS and self.access_logged_actions.get(self.action) == DataAccessAction.LIST:
            shown = list(queryset) if page is None else page
            services.record_data_access(actor=self.request.user, action=DataAccessAction.LIST, objects=shown)
        return page


class AccessLoggedDetailMixin:
    """For portal detail pages (DetailView): a GET records the object shown."""

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        if self.request.method in READS:
            services.record_data_access(actor=self.request.user, action=DataAccessAction.VIEW, objects=[obj])
        return obj


class AccessLoggedListMixin:
    """For portal list pages (ListView): records the objects on the page shown."""

    def paginate_queryset(self, queryset, page_size):
        paginator, page, objects, is_paginated = super().paginate_queryset(queryset, page_size)
        if self.request.method in READS:
            services.record_data_access(actor=self.request.user, action=DataAccessAction.LIST, objects=objects)
        return paginator, page, objects, is_paginated


class AccessLoggedAdminMixin:
    """For ModelAdmins of claims and personal data: opening an object's change page (a GET) records it."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method in READS and response.status_code == 200:
            obj = getattr(response, "context_data", {}).get("original")  # the object the page shows, not a re-read
            if obj is not None:
                services.record_data_access(
                    actor=request.user, action=DataAccessAction.VIEW, objects=[obj], request=request
                )
        return response
