"""Code reads its settings from the composed config and never repeats the YAML's defaults (each default lives once,
in `textgru/conf/`): a config missing a key gets one line saying so and where complete configs come from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from textgru.errors import TextgruError


def require_keys(cfg: Mapping[str, Any], keys: Iterable[str], group: str = "data") -> None:
    """One line naming the keys `cfg` lacks (a hand-written partial config, e.g. from Python)."""
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise TextgruError(
            f"the {group} config lacks {', '.join(missing)}; start from a complete one: "
            f"textgru.config.{group}_config('<name>') (conf/{group}/<name>.yaml) and change what you need"
        )
