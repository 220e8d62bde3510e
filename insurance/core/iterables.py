"""Iteration helpers shared by the apps (Python 3.11 has no `itertools.batched`)."""

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last may be shorter), read lazily: a queryset iterator stays streamed."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
