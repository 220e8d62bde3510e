"""Set-based upserts by natural key, with a history row for every record created or changed.

One function, two paths. On PostgreSQL the rows are COPYed into a temporary staging table and merged with one
`INSERT ... ON CONFLICT DO UPDATE ... WHERE <something changed>` whose RETURNING feeds the history insert in the same
statement, so the database does the work and an unchanged row costs neither a write nor a history row. Elsewhere
(SQLite for a newcomer's first run) the same result comes from `bulk_create_with_history` and
`bulk_update_with_history`. simple-history never sees these writes, which is why the history is written here.

Rows are dicts keyed by attname (`policy_id`, not `policy`). A column some row gives is written for every row of
the call (a row without it gets the model default); columns no row gives are left alone on update.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

TIMESTAMPS = ("created_at", "updated_at")
HISTORY_OWN_COLUMNS = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")
SQLITE_LOOKUP_CHUNK = 300


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pks: dict[tuple, int] = field(default_factory=dict)
    created_keys: set[tuple] = field(default_factory=set)

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.pks.update(other.pks)
        self.created_keys |= other.created_keys


@dataclass(frozen=True)
class Companion:
    """One row of another tracked model for every record an upsert creates, such as a claim's `imported` event.

    On PostgreSQL it is written by the same statement as the records, from the pks the merge returns, so a large
    import pays no round trip and no Python per row for it. Rows go in pk order, each with its own history row.
    """

    model: type[models.Model]
    link: str  # the companion's attname that takes the new record's pk, e.g. "claim_id"
    values: dict[str, Any] = field(default_factory=dict)  # its other columns, the same on every row


def upsert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    key: tuple[str, ...] | None,
    actor,
    reason: str,
    insert_only: dict[str, Any] | None = None,
    companion: Companion | None = None,
) -> UpsertResult:
    """Insert `rows` or update the records with the same `key`, writing history as `actor` with `reason`.

    `key` names a unique constraint's attnames; None inserts every row. Keys must be unique within `rows` (the
    caller decides which duplicate wins and how to report it). `insert_only` values are written on new rows and
    never compared or updated (a new user's unusable password must not overwrite one set since). `companion`
    adds a row of another model per created record (needs a `key`). Runs in one transaction (a savepoint when
    nested).
    """
    if not rows:
        return UpsertResult()
    columns = _given_columns(model, rows)
    insert_only = dict(insert_only or {})
    if insert_only:
        _given_columns(model, [insert_only])
        columns = [name for name in columns if name not in insert_only]
    if companion is not None:
        if key is None:
            raise ValueError(f"{model.__name__}: a companion needs a key, to know which records are new")
        _given_columns(companion.model, [{companion.link: 0, **companion.values}])
    if key is not None:
        missing = [name for name in key if name not in columns]
        if missing:
            raise ValueError(f"{model.__name__}: every row needs its key {missing}")
        keys = [tuple(row.get(name) for name in key) for row in rows]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{model.__name__}: duplicate keys in one upsert")
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _upsert_postgresql(model, rows, columns, key, actor, reason, now, insert_only, companion)
        if insert_only:
            rows = [{**insert_only, **row} for row in rows]
        result = _upsert_orm(model, rows, columns, key, actor, reason, now)
        if companion is not None and result.created_keys:
            created = sorted(result.pks[row_key] for row_key in result.created_keys)
            extra = [{companion.link: pk, **companion.values} for pk in created]
            _upsert_orm(companion.model, extra, list(extra[0]), None, actor, reason, now)
        return result


def _given_columns(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[str]:
    known = {f.attname for f in model._meta.concrete_fields if not f.primary_key}
    given: dict[str, None] = {}
    for row in rows:
        for name in row:
            given.setdefault(name, None)
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    return [name for name in given if name not in TIMESTAMPS]


def _full_row(fields: list[models.Field], row: dict[str, Any], now: datetime) -> list[Any]:
    values = []
    for f in fields:
        if f.attname in TIMESTAMPS:
            values.append(row.get(f.attname) or now)
        elif f.attname in row:
            values.append(row[f.attname])
        else:
            values.append(f.get_default())
    return values


# --- PostgreSQL: COPY into a staging table, one merge statement that also writes the history -----------------


def _upsert_postgresql(model, rows, columns, key, actor, reason, now, insert_only, companion) -> UpsertResult:
    """Only the columns the rows give are staged (and converted to COPY text); the rest are constants."""
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    by_attname = {f.attname: f for f in fields}
    staged_names = [*columns, *(name for name in TIMESTAMPS if any(name in row for row in rows))]
    staged = [by_attname[name] for name in staged_names]
    constant = [f for f in fields if f.attname not in staged_names]
    constant_values = [
        now if f.attname in TIMESTAMPS else insert_only[f.attname] if f.attname in insert_only else f.get_default()
        for f in constant
    ]
    stage = quote(f"etl_stage_{meta.db_table}_{len(staged)}_{abs(hash(tuple(staged_names))) % 10**8}")
    staged_sql = ", ".join(quote(f.column) for f in staged)
    target_sql = ", ".join(quote(f.column) for f in [*staged, *constant])
    select_sql = ", ".join([*(quote(f.column) for f in staged), *("%s" for _ in constant)])
    pk_column = quote(meta.pk.column)
    user_id = actor.pk if actor is not None else None
    params = [f.get_db_prep_save(v, connection) for f, v in zip(constant, constant_values, strict=True)]
    params += [now, reason[:100], user_id]
    companion_sql = ""
    if companion is not None:
        companion_sql, companion_params = _companion_sql(companion, pk_column, now, reason, user_id)
        params += companion_params

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT {staged_sql} FROM {table} WITH NO DATA"  # noqa: S608
        )
        cursor.execute(f"TRUNCATE {stage}")
        cursor.copy_expert(f"COPY {stage} ({staged_sql}) FROM STDIN", _copy_buffer(staged, rows, now))
        key_columns = [meta.get_field(_field_name(meta, name)).column for name in key or ()]
        conflict = _conflict_clause(meta, table, columns, key, key_columns)
        returned = ", ".join(["etl_inserted", pk_column, *(quote(c) for c in key_columns)])
        cursor.execute(
            f"""
            WITH merged AS (
                INSERT INTO {table} ({target_sql}) SELECT {select_sql} FROM {stage} {conflict}
                RETURNING {table}.*, (xmax = 0) AS etl_inserted
            ), {_history_cte("history", model, "merged", "CASE WHEN etl_inserted THEN '+' ELSE '~' END")}
            {companion_sql}
            SELECT {returned} FROM merged
            """,  # noqa: S608 (identifiers come from model metadata; values are parameters)
            params,
        )
        result = UpsertResult()
        for inserted, pk, *values in cursor.fetchall():
            if inserted:
                result.created += 1
                if key is not None:
                    result.created_keys.add(tuple(values))
            else:
                result.updated += 1
            if key is not None:
                result.pks[tuple(values)] = pk
        if key is None:
            return result
        result.unchanged = len(rows) - result.created - result.updated
        if result.unchanged:
            key_select = ", ".join(f"t.{quote(c)}" for c in key_columns)
            join = " AND ".join(f"t.{quote(c)} = s.{quote(c)}" for c in key_columns)
            cursor.execute(f"SELECT t.{pk_column}, {key_select} FROM {table} t JOIN {stage} s ON {join}")  # noqa: S608
            for pk, *values in cursor.fetchall():
                result.pks.setdefault(tuple(values), pk)
    return result


def _history_cte(name: str, model, source: str, history_type: str) -> str:
    """A CTE copying the rows of `source` (a RETURNING) into the model's history; takes date, reason, user."""
    quote = connection.ops.quote_name
    history_table = quote(model.history.model._meta.db_table)
    tracked = [f.column for f in model.history.model._meta.concrete_fields if f.column not in HISTORY_OWN_COLUMNS]
    columns = ", ".join(quote(c) for c in tracked)
    return f"""{name} AS (
                INSERT INTO {history_table} ({columns}, history_date, history_change_reason, history_type,
                                             history_user_id)
                SELECT {columns}, %s, %s, {history_type}, %s FROM {source}
            )"""  # noqa: S608


def _companion_sql(companion: Companion, pk_column: str, now: datetime, reason: str, user_id) -> tuple[str, list]:
    """CTEs inserting one companion row (and its history row) per record the merge created, in pk order."""
    quote = connection.ops.quote_name
    meta = companion.model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.attname != companion.link]
    values = [
        companion.values[f.attname]
        if f.attname in companion.values
        else now
        if f.attname in TIMESTAMPS
        else f.get_default()
        for f in fields
    ]
    link = quote(meta.get_field(_field_name(meta, companion.link)).column)
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join("%s" for _ in fields)
    sql = f""", companion AS (
                INSERT INTO {table} ({link}, {columns})
                SELECT {pk_column}, {marks} FROM merged WHERE etl_inserted ORDER BY {pk_column}
                RETURNING {table}.*
            ), {_history_cte("companion_history", companion.model, "companion", "'+'")}"""  # noqa: S608
    params = [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
    return sql, [*params, now, reason[:100], user_id]


def _conflict_clause(meta, table: str, columns: list[str], key, key_columns: list[str]) -> str:
    """ON CONFLICT on the natural key: update what differs (and only then, so unchanged rows write nothing)."""
    if key is None:
        return ""
    quote = connection.ops.quote_name
    target = ", ".join(quote(c) for c in key_columns)
    compared = [meta.get_field(_field_name(meta, name)).column for name in columns if name not in key]
    if not compared:
        return f"ON CONFLICT ({target}) DO NOTHING"
    assignments = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in [*compared, "updated_at"])
    old = ", ".join(f"{table}.{quote(c)}" for c in compared)
    new = ", ".join(f"EXCLUDED.{quote(c)}" for c in compared)
    return f"ON CONFLICT ({target}) DO UPDATE SET {assignments} WHERE ROW({old}) IS DISTINCT FROM ROW({new})"


def _field_name(meta, attname: str) -> str:
    for f in meta.concrete_fields:
        if f.attname == attname:
            return f.name
    return attname


def _copy_buffer(fields: list[models.Field], rows, now: datetime) -> io.StringIO:
    """COPY text of the staged columns; a row without a column gets the model default (timestamps: now).

    Built a column at a time with comprehensions, not a Python call per value: on a large import this buffer is
    built for every row, by the thread that should be waiting on the database.
    """
    columns = []
    for f in fields:
        attname = f.attname
        default = now if attname in TIMESTAMPS else f.get_default()
        columns.append(_copy_column(f, [row.get(attname, default) for row in rows]))
    return io.StringIO("".join(["\t".join(line) + "\n" for line in zip(*columns, strict=True)]))


_NULL = r"\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_JSON = DjangoJSONEncoder()


def _copy_column(f: models.Field, values: list[Any]) -> list[str]:
    """One column's values as COPY text: NULL as \\N, text escaped only when the column holds a special character."""
    convert = _copy_converter(f)
    texts = [None if value is None else convert(value) for value in values]
    if convert in (_copy_text, _copy_json):
        joined = "".join(text for text in texts if text is not None)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = [None if text is None else text.translate(_COPY_ESCAPES) for text in texts]
    if None in texts:
        texts = [_NULL if text is None else text for text in texts]
    return texts


def _copy_text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _copy_json(value: Any) -> str:
    return _JSON.encode(value)


def _copy_bool(value: Any) -> str:
    return "t" if value else "f"


def _copy_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _copy_converter(f: models.Field) -> Callable[[Any], str]:
    if isinstance(f, models.JSONField):
        return _copy_json
    if isinstance(f, models.BooleanField):
        return _copy_bool
    if isinstance(f, models.DateTimeField):
        return _copy_datetime
    if isinstance(f, models.DateField | models.DecimalField | models.IntegerField | models.ForeignKey):
        return str
    return _copy_text


# --- Other databases: the ORM's bulk operations with simple-history's bulk helpers ----------------------------


def _upsert_orm(model, rows, columns, key, actor, reason, now) -> UpsertResult:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    result = UpsertResult()
    existing = _existing_by_key(model, [tuple(row[name] for name in key) for row in rows], key) if key else {}
    new_objects, new_keys, given_created, changed = [], [], [], []
    for row in rows:
        row_key = tuple(row[name] for name in key) if key else None
        current = existing.get(row_key) if key else None
        if current is None:
            values = dict(zip((f.attname for f in fields), _full_row(fields, row, now), strict=True))
            new_objects.append(model(**values))
            new_keys.append(row_key)
            given_created.append(row.get("created_at"))
            continue
        complete = dict(zip((f.attname for f in fields), _full_row(fields, row, now), strict=True))
        updates = {
            name: complete[name] for name in columns if name not in key and _differs(current, name, complete[name])
        }
        if updates:
            for name, value in updates.items():
                setattr(current, name, value)
            current.updated_at = now
            changed.append(current)
        else:
            result.unchanged += 1
        result.pks[row_key] = current.pk
    if new_objects:
        # bulk_create stamps auto_now_add fields with the current time: put back the times rows gave (the synthetic
        # book's history is dated), before the history rows copy them.
        created = model._base_manager.bulk_create(new_objects)
        redated = [obj for obj, when in zip(created, given_created, strict=True) if when and obj.created_at != when]
        for obj, when in zip(created, given_created, strict=True):
            if when:
                obj.created_at = when
        if redated:
            model._base_manager.bulk_update(redated, ["created_at"])
        model.history.bulk_history_create(
            created, default_user=actor, default_change_reason=reason[:100], default_date=now
        )
        for row_key, obj in zip(new_keys, created, strict=True):
            if key:
                result.pks[row_key] = obj.pk
                result.created_keys.add(row_key)
        result.created = len(created)
    if changed:
        names = [name for name in columns if not key or name not in key]
        bulk_update_with_history(
            changed,
            model,
            fields=[_field_name(model._meta, name) for name in names] + ["updated_at"],
            default_user=actor,
            default_change_reason=reason[:100],
            default_date=now,
        )
        result.updated = len(changed)
    return result


def _differs(obj: models.Model, attname: str, value: Any) -> bool:
    current = getattr(obj, attname)
    if isinstance(current, Decimal) and value is not None and not isinstance(value, Decimal):
        value = Decimal(str(value))
    return current != value


def _existing_by_key(model, keys: list[tuple], key: tuple[str, ...]) -> dict[tuple, models.Model]:
    found: dict[tuple, models.Model] = {}
    for start in range(0, len(keys), SQLITE_LOOKUP_CHUNK):
        chunk = keys[start : start + SQLITE_LOOKUP_CHUNK]
        if len(key) == 1:
            query = Q(**{f"{key[0]}__in": [k[0] for k in chunk]})
        else:
            query = Q()
            for values in chunk:
                query |= Q(**dict(zip(key, values, strict=True)))
        for obj in model._base_manager.filter(query):
            found[tuple(getattr(obj, name) for name in key)] = obj
    return found
