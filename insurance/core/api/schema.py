"""The OpenAPI schema class of the API (`REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`)."""

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, where the fields a serializer leaves out for some callers are optional, and only
    GET responses are paginated.

    drf-spectacular marks every read-only field of a response as required. A serializer that hides fields from
    some callers (a claim's handler-only fields, from the claimant) names them in `Meta.sometimes_omitted`, so the
    schema matches every caller's response and still lists the fields.
    """

    def _get_paginator(self):
        """DRF pages only what a GET lists: a POST answering several objects (a claim's new documents) answers a
        plain list, where drf-spectacular documented a page."""
        if self.method != "GET":
            return None
        return super()._get_paginator()

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        omitted = set(getattr(getattr(serializer, "Meta", None), "sometimes_omitted", ()))
        if direction == "response" and omitted and "required" in schema:
            unknown = omitted - set(schema["properties"])
            if unknown:
                raise ImproperlyConfigured(f"{type(serializer).__name__}.Meta.sometimes_omitted: no field {unknown}")
            schema["required"] = [name for name in schema["required"] if name not in omitted]
            if not schema["required"]:
                del schema["required"]
        return schema


HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})
ERROR_RESPONSE = {
    "description": "An error (401, 403, 404, 405, 406, 415, 429, 503, ...), in the API's one error body.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """Postprocessing hook (`SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`): every operation may answer an error
    its view never names (an anonymous 401, an analytics token's 403, another book's 404), always in the one error
    body. Each operation therefore gets a `default` response of that shape; the statuses it documents keep theirs."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                operation.setdefault("responses", {}).setdefault("default", ERROR_RESPONSE)
    return result
