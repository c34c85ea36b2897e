"""The built-in Shakespeare plays (groundwork for the language model): markup removed, split by whole play."""

from __future__ import annotations

import pytest

from textgru.data.shakespeare import load_shakespeare, markdown_to_script, play_files
from textgru.errors import TextgruError


def test_markdown_becomes_a_script() -> None:
    md = (
        "# Play\n\n## ACT I\n\n_Enter ROMEO and a Servant_\n\n**ROMEO**  \nBut soft\\! what light  \n"
        "Through yonder window breaks? _[Aside.]_\n\n_Exit,\nsoftly_\n\n**JULIET**  \nAy me\\.\n"
    )
    assert markdown_to_script(md) == "ROMEO:\nBut soft! what light\nThrough yonder window breaks?\n\nJULIET:\nAy me.\n"


def test_plays_are_split_whole() -> None:
    dd = load_shakespeare(seed=42)
    titles = {s: set(dd[s]["title"]) for s in dd}
    assert len(titles["validation"]) == 2 and len(titles["test"]) == 2
    assert not (
        titles["train"] & titles["validation"]
        or titles["train"] & titles["test"]
        or titles["validation"] & titles["test"]
    )
    text = "".join(dd["train"]["text"])
    assert 3_500_000 < len(text) < 5_000_000
    assert "**" not in text and "\\" not in text and "  \n" not in text
    assert load_shakespeare(seed=42)["test"]["title"] == dd["test"]["title"]  # fixed seed, same plays


def test_plays_for_validation_and_test_leave_one_for_training() -> None:
    plays = len(play_files())
    with pytest.raises(TextgruError, match=f"add up to {plays}: they must leave at least one of the {plays} plays"):
        load_shakespeare(val_plays=plays - 1, test_plays=1)  # a review: the tokenizer "learned no tokens"
