"""`EvalReport`: what `Classifier.evaluate` returns, a plain dict of the metrics (JSON as it is) that a notebook shows
as the terminal's per-class table and the confusion matrix, not as a page of nested dicts."""

from __future__ import annotations

from typing import Any

from textgru.inference.prediction import html_text

MATRIX_LABELS = 20  # up to this many labels, the confusion matrix as a table too


class EvalReport(dict):
    """The metrics dict (`accuracy`, `macro_f1`, `loss`, `per_class`, `confusion_matrix`, `n`, ...), shown in a
    notebook as a table; the split, checkpoint and labels escaped, never read as HTML."""

    def _repr_html_(self) -> str:
        from textgru.inference.evaluation import format_report

        said = f"accuracy {self['accuracy']:.4f}, macro-F1 {self['macro_f1']:.4f}, loss {self['loss']:.4f}"
        where = ", ".join(f"{k} {self[k]}" for k in ("split", "checkpoint") if self.get(k))
        head = f"<p><b>{html_text(said)}</b> on {self['n']:,} texts{html_text(f' ({where})' if where else '')}</p>"
        return f"<div>{head}<pre>{html_text(format_report(self))}</pre>{self._matrix_html()}</div>"

    def _matrix_html(self) -> str:
        """The confusion matrix (rows: true label, columns: predicted), each cell shaded by its share of the row."""
        matrix: list[list[Any]] = self.get("confusion_matrix") or []
        names = list(self.get("per_class") or {})
        if not matrix or len(matrix) > MATRIX_LABELS or len(names) != len(matrix):
            return ""
        head = "".join(f"<th>{html_text(n)}</th>" for n in names)
        rows = []
        for name, row in zip(names, matrix, strict=True):
            total = max(sum(row), 1)
            cells = "".join(
                f'<td style="background:rgba(76,120,168,{c / total:.2f});text-align:right">{c}</td>' for c in row
            )
            rows.append(f"<tr><th>{html_text(name)}</th>{cells}</tr>")
        return f"<table><tr><th>true \\ predicted</th>{head}</tr>{''.join(rows)}</table>"
