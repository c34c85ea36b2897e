"""The built-in Shakespeare plays (groundwork for the language model): markup removed, split by whole play."""

from __future__ import annotations

from textgru.data.shakespeare import load_shakespeare, markdown_to_script


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
