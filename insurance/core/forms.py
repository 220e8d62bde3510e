"""What every portal form shares: a service's refusal shown on the form that asked for it (never a 500), and date
inputs the browser can read."""

from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .exceptions import ServiceError

FALLBACK_MESSAGE = "The change could not be saved."


def refusal_parts(error: ServiceError | ValidationError) -> tuple[dict[str, list[str]], str]:
    """(messages by field name, overall message) of a service's `ServiceError` or of a model's `full_clean()`
    `ValidationError`, the two ways a write is refused."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return {name: [m for item in items for m in item.messages] for name, items in error.error_dict.items()}, ""
        return {}, " ".join(error.messages)
    return dict(error.fields), error.message


def add_service_error(
    form: forms.Form,
    error: ServiceError | ValidationError,
    *,
    aliases: Mapping[str, str] | None = None,
    subforms: Mapping[str, forms.Form] | None = None,
) -> None:
    """Put a refusal on the form: each message on the field it names, where the form calls that field differently
    through `aliases` (service name → form field), and a dotted name (`vehicle.vin`) on the sub-form of that
    prefix in `subforms`. When no named field is on the form, the service's own message says it form-wide;
    messages for fields the form lacks are otherwise shown form-wide with the field's name, so none is lost."""
    fields, message = refusal_parts(error)
    aliases, subforms = aliases or {}, subforms or {}
    placed, unplaced = False, []
    for name, messages in fields.items():
        field = aliases.get(name, name)
        head, _, tail = field.partition(".")
        if head in subforms and tail in subforms[head].fields:
            subforms[head].add_error(tail, messages)
            placed = True
        elif field in form.fields:
            form.add_error(field, messages)
            placed = True
        elif name == NON_FIELD_ERRORS:
            unplaced += messages
        else:
            unplaced += [f"{name.replace('_', ' ')}: {text}" for text in messages]
    if message and not placed:
        form.add_error(None, message)
    elif unplaced:
        form.add_error(None, unplaced)
    elif not placed:
        form.add_error(None, FALLBACK_MESSAGE)


class DateInput(forms.DateInput):
    """`<input type="date">` reads and writes ISO dates only, whatever the site's locale formats dates as (en-gb would
    write 05/12/2026, which the browser shows as an empty field)."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs, format=format)
