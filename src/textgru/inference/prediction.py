"""`Prediction`: one text's predicted label and probabilities, as `Classifier.predict` returns it (no torch import:
the server and the command's table read it too)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from textgru.terminal_text import escaped_controls

HTML_TEXT_CHARS = 300  # of the text, in a notebook's view of a prediction
HTML_LABELS = 20  # labels shown there (the likeliest, beyond)


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
        predicted one in bold, beyond `HTML_LABELS` labels the likeliest of them; text and labels escaped (HTML and
        control characters alike), never read as HTML."""
        text = self.text if len(self.text) <= HTML_TEXT_CHARS else self.text[: HTML_TEXT_CHARS - 1] + "…"
        probs = self.probs if len(self.probs) <= HTML_LABELS else likeliest(self.probs, HTML_LABELS)
        rows = []
        for name, p in probs.items():
            shown = f"<b>{_html(name)}</b>" if name == self.label else _html(name)
            width = 100 * p if isinstance(p, (int, float)) and math.isfinite(p) else 0  # NaN: no bar
            bar = f'<div style="background:#4c78a8;height:0.8em;width:{width:.1f}px"></div>'
            rows.append(f'<tr><td style="text-align:left">{shown}</td><td>{bar}</td><td>{_number(p)}</td></tr>')
        if len(probs) < len(self.probs):
            rows.append(f"<tr><td colspan=3>(and {len(self.probs) - len(probs):,} less likely labels)</td></tr>")
        return f"<div><p>{_html(text)}</p><table>{''.join(rows)}</table></div>"


def _html(text: object) -> str:
    """`text` for HTML: escaped, its control characters and bidi overrides written as Python escapes."""
    return escape(escaped_controls(str(text)))


def _number(p: object) -> str:
    return f"{p:.3f}" if isinstance(p, (int, float)) else escape(str(p))


def likeliest(probs: Mapping[str, float], k: int) -> dict[str, float]:
    """The `k` likeliest labels of `probs` and their probabilities, likeliest first (ties in label order)."""
    return dict(sorted(probs.items(), key=lambda item: item[1], reverse=True)[:k])
