"""`Prediction`: one text's predicted label and probabilities, as `Classifier.predict` returns it (no torch import:
the server and the command's table read it too)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

HTML_TEXT_CHARS = 300  # of the text, in a notebook's view of a prediction


@dataclass(frozen=True)
class Prediction:
    """One text's prediction: the most likely `label`, its probability `score`, and every label's probability (in
    label order), or the `top_k` likeliest labels' (likeliest first)."""

    text: str
    label: str
    score: float
    probs: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `scripts/predict.py` writes for this text (built directly: `asdict` deep-copies, which
        costs the server ~0.05 ms a text)."""
        return {"text": self.text, "label": self.label, "score": self.score, "probs": dict(self.probs)}

    def _repr_html_(self) -> str:
        """How a notebook shows it: the text (its first `HTML_TEXT_CHARS` characters), then a bar a label, the
        predicted one in bold; the text and labels are escaped, never read as HTML."""
        text = self.text if len(self.text) <= HTML_TEXT_CHARS else self.text[: HTML_TEXT_CHARS - 1] + "…"
        rows = []
        for name, p in self.probs.items():
            shown = f"<b>{escape(name)}</b>" if name == self.label else escape(name)
            bar = f'<div style="background:#4c78a8;height:0.8em;width:{100 * p:.1f}px"></div>'
            rows.append(f'<tr><td style="text-align:left">{shown}</td><td>{bar}</td><td>{p:.3f}</td></tr>')
        return f"<div><p>{escape(text)}</p><table>{''.join(rows)}</table></div>"


def likeliest(probs: Mapping[str, float], k: int) -> dict[str, float]:
    """The `k` likeliest labels of `probs` and their probabilities, likeliest first (ties in label order)."""
    return dict(sorted(probs.items(), key=lambda item: item[1], reverse=True)[:k])
