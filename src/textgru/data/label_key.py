"""How labels are compared: the string a label is read as (no heavy imports: checkpoint loading uses it too)."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable

log = logging.getLogger(__name__)

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad\u200e\u200f\u180e"))  # zero-width, soft hyphen, marks


def label_key(value: object) -> str:
    """A label as the string it is compared as: in Unicode's composed form (NFC: "café" typed either way is one
    label), without invisible characters (a zero-width space, a soft hyphen), its whitespace runs (a no-break space, a
    doubled space) one space, stripped (a review: "very good" pasted from a web page was another class, without a
    word); an integral float is its integer (pandas reads a 0/1 column with a gap as 0.0/1.0); `" Pos"` and `"pos"`
    differ only by case, which `standardize` handles."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFC", str(value)).translate(INVISIBLE).split())


def label_keys(values: Iterable[object]) -> list[str]:
    """`label_key` of each value, each distinct string worked out once (a review: a 2M-row file's labels, one
    Unicode normalisation a row, were a fifth of its load)."""
    known: dict[str, str] = {}

    def key(v: object) -> str:
        if type(v) is not str:
            return label_key(v)
        if v not in known:
            known[v] = label_key(v)
        return known[v]

    return [key(v) for v in values]


def warn_of_labels_read_as_one(names: list[str]) -> None:
    """A model trained before labels were compared without whitespace runs and invisible characters (`label_key`) may
    hold two labels that data read now merges (a review: "very good" and "very  good"): its splits carve otherwise."""
    seen: dict[str, str] = {}
    for name in names:
        if (other := seen.setdefault(label_key(name), name)) != name:
            log.warning(
                "this model's labels %r and %r differ only by whitespace or invisible characters, which data read now "
                "merges into one label: its data's carved splits and scores differ from its training's",
                other,
                name,
            )
            return
