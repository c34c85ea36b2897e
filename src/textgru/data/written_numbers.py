"""Numbers a spreadsheet or a download writes that pandas reads as text: with a decimal comma ("0,105") or with a
currency sign or a percent ("$100.13", "5.00%"); for a forecasting CSV's messages, what to say of a column
of them."""

from __future__ import annotations

import re
from typing import Any

DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")  # 0,105 or -12,5: a number as a spreadsheet in many locales writes it


def decimal_commas(column: Any) -> str:
    """ "" or, for a column whose cells are all numbers written with a decimal comma (a quoted "0,105" in a comma-
    separated file), what to say: its first cell and the fix (a review: "no numeric column", then "not numeric" for
    data.columns=[y], never why)."""
    cells = column.dropna().astype(str).str.strip()
    if not len(cells) or not cells.str.fullmatch(DECIMAL_COMMA.pattern).all():
        return ""
    return (
        f"; its numbers are written with a decimal comma ({cells.iloc[0]!r}): save the file with decimal points (a "
        "spreadsheet's CSV export in an English locale, or pandas: read_csv(..., decimal=',').to_csv(...))"
    )


SYMBOLS = "$€£¥₹"
CODES = "(USD|EUR|GBP|JPY|CNY|INR|CHF|CAD|AUD)"
UNSIGNED = r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?"  # 12, 2,007.5, 0.25
PLAIN = r"[+-]?" + UNSIGNED
MARKED = re.compile(  # $100.13, -$5, € 12, 5.00%, 3.5 USD: a number with a currency sign or code, or a percent (not
    rf"[{SYMBOLS}]\s*{PLAIN}|[+-][{SYMBOLS}]{UNSIGNED}|{PLAIN}\s*(%|‰|[{SYMBOLS}]|{CODES})"  # other letters: 1 Jan, 1am
)  # are labels, a review)


def marked_numbers(column: Any) -> str:
    """ "" or, for a text column whose cells are all numbers, some written with a currency sign or code or a percent
    ("$100.13", "5.00%": pandas reads them as text), what to say: its first such cell and the fix (a review: a stock
    download's five price columns were left out unsaid, and a file of percents trained on its row counter)."""
    cells = column.dropna().astype(str).str.strip()
    marked = cells.str.fullmatch(MARKED.pattern)
    if not len(cells) or not marked.any() or not (marked | cells.str.fullmatch(PLAIN)).all():
        return ""
    return (
        f"; its numbers are written with a currency sign or percent ({cells[marked].iloc[0]!r}): save the file with plain numbers "
        "(pandas: df[c] = pd.to_numeric(df[c].str.replace(r'[^0-9.+-]', '', regex=True)))"
    )
