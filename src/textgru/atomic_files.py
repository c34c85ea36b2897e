"""Files a later command reads to decide what a folder holds (metrics.json marks a finished run, config.yaml a run,
`<split>_metrics.json` an evaluation): written whole or not at all, so a kill mid-write never leaves half of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """`text` to a temporary file beside `path`, then renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
