"""From feature dicts to the matrix a model reads: `FeatureEncoder`, fitted on training rows only.

`fraud.features.features(inputs)` gives one dict per claim: numbers and booleans, category strings, and None for
unknown. The encoder decides from the TRAINING rows alone how each feature becomes columns, so nothing about the
holdout or a cross-validation test fold leaks into the model through its preprocessing:

- a feature whose non-missing training values are all numbers or booleans (or text that reads as a number: an
  imported CSV column is kept as sent, "5190") is numeric: one column, missing values
  filled with the training median, plus a `name=(missing)` indicator column when enough training rows miss it;
- any other feature is categorical: one column per category seen at least `min_category_count` times in training
  (at most `max_categories`, the most frequent), a `name=(other)` column for the rest and for categories never seen
  in training, and a `name=(missing)` column when enough training rows miss it (otherwise missing counts as other);
- a feature that training never saw with a value is dropped (listed in `dropped`).

The fitted encoder is plain JSON (`to_json`/`from_json`), kept in `ModelVersion.preprocessing`: no pickle.
`FeatureTable` keeps many rows by column, so a large training set does not hold a dict per claim.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

FORMAT = "fraud-encoder/1"
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


def is_missing(value: Any) -> bool:
    """None, NaN and the empty string are unknown values."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value == ""


def is_number(value: Any) -> bool:
    """Numbers and booleans (a boolean is the number 0 or 1 to a model)."""
    return isinstance(value, bool | int | float | Decimal | np.integer | np.floating | np.bool_)


def as_number(value: Any) -> float | None:
    """The value as a float: numbers and booleans, and text that reads as a finite number ("5190" from a CSV
    column kept as sent); None otherwise."""
    if is_number(value):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def numbers_of(values: Sequence) -> tuple[np.ndarray, bool]:
    """The values as floats (NaN where missing or not a number) and whether every present value is a number.

    numpy converts a column of numbers, booleans, None and numeric text in one call; anything else (text, an empty
    string, "1,000") takes the value-by-value path, which gives the same answer.
    """
    try:
        numbers = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        numbers = None
    if numbers is not None and numbers.ndim == 1:
        odd = ~np.isfinite(numbers)
        if not odd.any() or all(is_missing(values[i]) for i in np.flatnonzero(odd)):
            numbers[odd] = np.nan
            return numbers, True
    converted = [None if is_missing(value) else as_number(value) for value in values]
    numeric = all(number is not None or is_missing(value) for number, value in zip(converted, values, strict=True))
    return np.asarray([np.nan if number is None else number for number in converted], dtype=float), numeric


def category(value: Any) -> str:
    """The category a value stands for (numbers in a categorical feature become their text)."""
    return value if isinstance(value, str) else str(value)


def column_name(feature: str, label: str | None) -> str:
    """`feature` for a numeric column, `feature=label` for a category, `(other)` or `(missing)` column."""
    return feature if label is None else f"{feature}={label}"


class FeatureTable:
    """Rows of features stored by column (object arrays), indexable like a list for cross-validation splits.

    `table[indices]` (an index array, a boolean mask or a slice) is a table of those rows; `table[i]` is row i as a
    dict. A feature some rows lack is None there.
    """

    def __init__(self, columns: dict[str, np.ndarray], length: int):
        self.columns = columns
        self.length = length

    @classmethod
    def from_rows(cls, rows: Iterable[dict], *, chunk_size: int = 5000) -> FeatureTable:
        chunks: list[tuple[int, dict[str, np.ndarray]]] = []
        names: dict[str, None] = {}
        chunk: list[dict] = []

        def flush() -> None:
            keys: dict[str, None] = {}
            for row in chunk:
                keys.update(dict.fromkeys(row))
            names.update(keys)
            chunks.append((len(chunk), {name: _objects([row.get(name) for row in chunk]) for name in keys}))
            chunk.clear()

        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_size:
                flush()
        if chunk:
            flush()
        length = sum(size for size, _ in chunks)
        columns = {}
        for name in names:
            parts = [part.get(name) if name in part else np.full(size, None, dtype=object) for size, part in chunks]
            columns[name] = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        return cls(columns, length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index):
        if isinstance(index, int | np.integer):
            return {name: values[index] for name, values in self.columns.items()}
        if isinstance(index, slice):
            positions = np.arange(self.length)[index]
        else:
            positions = np.asarray(index)
            if positions.dtype == bool:
                positions = np.flatnonzero(positions)
        return FeatureTable({name: values[positions] for name, values in self.columns.items()}, len(positions))

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def column(self, name: str) -> np.ndarray:
        values = self.columns.get(name)
        return values if values is not None else np.full(self.length, None, dtype=object)

    def rows(self) -> Iterator[dict]:
        for i in range(self.length):
            yield self[i]


Rows = Sequence[dict] | FeatureTable


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _names(rows: Rows) -> list[str]:
    if isinstance(rows, FeatureTable):
        return rows.names
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def _column(rows: Rows, name: str) -> Sequence:
    if isinstance(rows, FeatureTable):
        return rows.column(name)
    return [row.get(name) for row in rows]


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """Feature dicts (or a `FeatureTable`) to a float matrix; see the module docstring for the rules.

    A scikit-learn transformer, so it sits first in a `Pipeline` and cross-validation refits it on each training
    fold. `columns` names the source feature and label of every output column (for folding explanations back).
    """

    def __init__(self, min_category_count: int = 10, max_categories: int = 50, select_alpha: float | None = None):
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        self.select_alpha = select_alpha

    # --- fitting -------------------------------------------------------------------------------------------------

    def fit(self, rows: Rows, y=None) -> FeatureEncoder:
        minimum = max(1, int(self.min_category_count))
        specs: list[dict] = []
        dropped: list[str] = []
        for name in sorted(_names(rows)):
            values = _column(rows, name)
            numbers, numeric = numbers_of(values)
            if numeric:
                present = numbers[~np.isnan(numbers)]
                if present.size == 0:
                    dropped.append(name)
                    continue
                specs.append(
                    {
                        "name": name,
                        "kind": "numeric",
                        "fill": float(np.median(present)),
                        "missing_indicator": len(values) - present.size >= minimum,
                    }
                )
            else:
                present = [value for value in values if not is_missing(value)]
                missing = len(values) - len(present)
                counts = Counter(category(value) for value in present)
                frequent = [(value, count) for value, count in counts.items() if count >= minimum]
                frequent.sort(key=lambda item: (-item[1], item[0]))
                kept = sorted(value for value, _ in frequent[: max(0, int(self.max_categories))])
                specs.append(
                    {"name": name, "kind": "categorical", "categories": kept, "missing_column": missing >= minimum}
                )
        unselected: dict[str, float] = {}
        if self.select_alpha and y is not None:
            specs, unselected = _select(specs, rows, np.asarray(y, dtype=int), float(self.select_alpha))
        self._set(specs, dropped, unselected)
        return self

    def _set(self, specs: list[dict], dropped: list[str], unselected: dict[str, float] | None = None) -> None:
        self.specs_ = specs
        self.dropped_ = dropped
        self.unselected_ = unselected or {}
        columns: list[tuple[str, str | None]] = []
        for spec in specs:
            name = spec["name"]
            if spec["kind"] == "numeric":
                columns.append((name, None))
                if spec["missing_indicator"]:
                    columns.append((name, MISSING_LABEL))
            else:
                columns.extend((name, value) for value in spec["categories"])
                columns.append((name, OTHER_LABEL))
                if spec["missing_column"]:
                    columns.append((name, MISSING_LABEL))
        self.columns_ = columns

    # --- reading the fitted encoder ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[tuple[str, str | None]]:
        """(source feature, label) per output column; label None for a numeric value column."""
        return self.columns_

    @property
    def feature_names(self) -> list[str]:
        """Readable column names: `amount_ratio`, `amount_ratio=(missing)`, `attr.claim.incident_severity=Major
        Damage`, `attr.claim.incident_severity=(other)`."""
        return [column_name(feature, label) for feature, label in self.columns_]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    @property
    def source_features(self) -> list[str]:
        """The features the encoder uses, in column order."""
        return [spec["name"] for spec in self.specs_]

    @property
    def dropped(self) -> list[str]:
        return list(self.dropped_)

    def spec(self, name: str) -> dict | None:
        return next((spec for spec in self.specs_ if spec["name"] == name), None)

    # --- transforming --------------------------------------------------------------------------------------------

    def transform(self, rows: Rows) -> np.ndarray:
        length = len(rows)
        matrix = np.zeros((length, len(self.columns_)), dtype=np.float64)
        position = 0
        for spec in self.specs_:
            values = _column(rows, spec["name"])
            if spec["kind"] == "numeric":
                numbers, _ = numbers_of(values)
                unknown = np.isnan(numbers)
                numbers[unknown] = spec["fill"]
                matrix[:, position] = numbers
                position += 1
                if spec["missing_indicator"]:
                    matrix[:, position] = unknown
                    position += 1
            else:
                index = {value: offset for offset, value in enumerate(spec["categories"])}
                other = len(spec["categories"])
                missing = other + 1 if spec["missing_column"] else other
                for row, value in enumerate(values):
                    offset = missing if is_missing(value) else index.get(category(value), other)
                    matrix[row, position + offset] = 1.0
                position += other + 1 + (1 if spec["missing_column"] else 0)
        return matrix

    def bucket(self, name: str, value: Any) -> str:
        """The category a categorical feature's value falls in: itself if kept, else `__other__` / `__missing__`."""
        spec = self.spec(name)
        if is_missing(value):
            return "__missing__"
        text = category(value)
        return text if spec and text in spec.get("categories", ()) else "__other__"

    # --- storing -------------------------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "min_category_count": self.min_category_count,
            "max_categories": self.max_categories,
            "select_alpha": self.select_alpha,
            "features": self.specs_,
            "dropped": self.dropped_,
            "unselected": self.unselected_,
            "columns": self.feature_names,
        }

    @classmethod
    def from_json(cls, data: dict) -> FeatureEncoder:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a fitted fraud encoder (format {data.get('format')!r}, expected {FORMAT!r})")
        encoder = cls(
            min_category_count=data["min_category_count"],
            max_categories=data["max_categories"],
            select_alpha=data.get("select_alpha"),
        )
        encoder._set(
            [dict(spec) for spec in data["features"]], list(data.get("dropped", [])), dict(data.get("unselected", {}))
        )
        if data.get("columns") is not None and data["columns"] != encoder.feature_names:
            raise ValueError("the stored encoder's columns do not match its features")
        return encoder


def _buckets(spec: dict, values: Sequence) -> np.ndarray:
    """Each value's bucket for the association test: training deciles (numeric) or the encoder's categories."""
    if spec["kind"] == "numeric":
        numbers, _ = numbers_of(values)
        present = ~np.isnan(numbers)
        edges = np.unique(np.quantile(numbers[present], np.linspace(0, 1, 11)[1:-1])) if present.any() else []
        return np.where(present, np.searchsorted(edges, np.nan_to_num(numbers), side="right"), -1)
    kept = {value: index for index, value in enumerate(spec["categories"])}
    other = len(kept)
    return np.asarray([other + 1 if is_missing(v) else kept.get(category(v), other) for v in values])


def _select(specs: list[dict], rows: Rows, y: np.ndarray, alpha: float) -> tuple[list[dict], dict[str, float]]:
    """Keep the features associated with the label in these (training) rows: chi-squared test of independence of
    the feature's buckets and the label, p below `alpha`. At least the most associated feature stays."""
    from scipy.stats import chi2_contingency

    pvalues = {}
    for spec in specs:
        buckets = _buckets(spec, _column(rows, spec["name"]))
        table = np.asarray(
            [[np.sum((buckets == b) & (y == 0)), np.sum((buckets == b) & (y == 1))] for b in set(buckets.tolist())]
        )
        table = table[table.sum(axis=1) > 0]
        pvalues[spec["name"]] = (
            1.0 if len(table) < 2 or table.sum(axis=0).min() == 0 else float(chi2_contingency(table)[1])
        )
    keep = {name for name, p in pvalues.items() if p < alpha} or {min(pvalues, key=pvalues.get)} if pvalues else set()
    kept = [spec for spec in specs if spec["name"] in keep]
    return kept, {name: round(p, 6) for name, p in sorted(pvalues.items()) if name not in keep}
