"""The data dictionary, generated from the feeds' serializers and FilterSets: nothing is described twice."""

from django.urls import reverse
from django_filters import ChoiceFilter, Filter
from rest_framework import serializers

from .feeds import Feed
from .rows import field_type


def _choices(choices) -> str:
    values = [str(value) for value, _ in choices if value != ""]
    return f"One of: {', '.join(values)}."


def field_entry(name: str, field: serializers.Field) -> dict:
    json_type, _ = field_type(field)
    description = str(field.help_text or "")
    if isinstance(field, serializers.ChoiceField) and "One of" not in description:
        description = f"{description} {_choices(field.choices.items())}".strip()
    return {"name": name, "type": json_type, "nullable": bool(field.allow_null), "description": description}


def filter_entry(name: str, filter_: Filter) -> dict:
    description = str(filter_.extra.get("help_text") or "")
    if isinstance(filter_, ChoiceFilter):
        description = f"{description} {_choices(filter_.extra['choices'])}".strip()
    return {"name": name, "description": description or f"Exact {name}."}


def feed_entry(feed: Feed) -> dict:
    fields = feed.serializer().fields
    return {
        "name": feed.name,
        "url": reverse(f"analytics-api:{feed.name}"),
        "description": feed.description,
        "key": feed.key,
        "order": f"{feed.key} ascending (keyset pages)",
        "append_only": feed.append_only,
        "fields": [field_entry(name, field) for name, field in fields.items()],
        "filters": [filter_entry(name, filter_) for name, filter_ in feed.filterset.base_filters.items()],
    }


class DictionaryFieldSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The column's name in JSON rows and the CSV header.")
    type = serializers.CharField(help_text="JSON type: string, string (date-time), string (date), number, ...")
    nullable = serializers.BooleanField(help_text="Whether the value may be null (an empty cell in CSV).")
    description = serializers.CharField(help_text="What the column holds.")


class DictionaryFilterSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The query parameter.")
    description = serializers.CharField(help_text="What it selects.")


class DictionaryFeedSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The feed's name.")
    url = serializers.CharField(help_text="Where to read it.")
    description = serializers.CharField(help_text="What one row is.")
    key = serializers.CharField(help_text="The column that identifies a row and orders the pages.")
    order = serializers.CharField(help_text="How pages are ordered.")
    append_only = serializers.BooleanField(help_text="Rows are only added, never changed.")
    fields = DictionaryFieldSerializer(many=True, help_text="The columns, in order.")
    filters = DictionaryFilterSerializer(many=True, help_text="The query parameters that select rows.")


class DataDictionarySerializer(serializers.Serializer):
    """Every feed the caller may read, its columns and its filters."""

    feeds = DictionaryFeedSerializer(many=True, help_text="The feeds, each with its columns and filters.")
    paging = serializers.CharField(help_text="How the feeds page and stream.")
