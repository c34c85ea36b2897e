"""A config value as the checks read it: resolved, or a marker saying it is absent, `???`, or fails to resolve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

ABSENT, MISSING = object(), object()  # no such key; `???`


@dataclass(frozen=True)
class Unresolved:
    """A value whose interpolation (`${...}`) fails, and why."""

    reason: str


def lookup(cfg: DictConfig, key: str) -> Any:
    """The resolved value at `key`, `ABSENT` (no such key), `MISSING` (`???`), or `Unresolved` (an interpolation
    that fails, e.g. `${oc.env:NAME}` of an unset variable; no key with a rule interpolates Hydra's run-time values)."""
    try:
        value = OmegaConf.select(cfg, key, default=ABSENT, throw_on_missing=True)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
    except MissingMandatoryValue:
        return MISSING
    except Exception as e:
        return Unresolved((str(e).strip().splitlines() or [type(e).__name__])[0])
    return value


def unresolved_in(cfg: DictConfig, text: str) -> str | None:
    """Why `text` (a run folder's name, typed with `${...}` of config values) fails to resolve against `cfg`; None
    where it resolves, or names Hydra's own values (`${hydra:job.name}`, `${hydra.job.num}`), which only Hydra has."""
    if "${hydra" in text:
        return None
    probe = OmegaConf.create({**OmegaConf.to_container(cfg, resolve=False), "_textgru_probe": text})  # type: ignore[dict-item]
    value = lookup(probe, "_textgru_probe")
    return value.reason if isinstance(value, Unresolved) else None
