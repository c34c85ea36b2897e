"""Whether a folder can be made in a folder, where `os.access` cannot tell: for root it says yes everywhere, /proc and
/sys included (Hydra then failed with a FileNotFoundError traceback, SQLite with "unable to open database file")."""

from __future__ import annotations

import os
from pathlib import Path


def takes_folders(parent: Path) -> bool:
    """Whether a folder can be made in `parent`. For root `os.access` says yes everywhere, /proc and /sys included,
    so there a folder is made and removed again to see; for other users `os.access` has said it."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return True
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".textgru-probe-", dir=parent))
    except OSError:
        return False
    return True
