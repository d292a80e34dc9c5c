"""Counters of what a run did, that add up field by field: a job's batches, or the parts
of the daily sweep."""

from dataclasses import dataclass, fields, replace
from typing import Self


@dataclass
class Counts:
    """Subclass with int fields (default 0); `a + b` sums each field."""

    def __add__(self, other: Self) -> Self:
        return replace(self, **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})
