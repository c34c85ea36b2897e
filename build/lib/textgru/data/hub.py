"""Datasets from the Hugging Face Hub by name, with a fast, one-line failure when the Hub can't be reached."""

from __future__ import annotations

import os
import socket

from datasets import DatasetDict, load_dataset

from textgru.errors import TextgruError

HUB_HOST = "huggingface.co"


def hub_offline_reason(timeout: float = 3.0) -> str | None:
    """Why the Hub cannot be used now (offline mode set, or no connection), or None when it can."""
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return f"{var}=1 is set"
    endpoint = os.environ.get("HF_ENDPOINT", f"https://{HUB_HOST}")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return f"{host} cannot be reached"
    return None


LOCAL_LABELLED = "data=local data.path=<file or folder> data.text_column=... data.label_column=..."


def load_hub(
    hub_name: str, hub_config: str | None = None, splits: dict | None = None, local_route: str = LOCAL_LABELLED
) -> DatasetDict:
    """`load_dataset(hub_name, hub_config)` with our split names (`splits` maps ours to the Hub's);
    `local_route` is the command-line advice for using a downloaded copy instead."""
    reason = hub_offline_reason()
    if reason is not None:
        raise TextgruError(
            f"Hub dataset {hub_name!r} cannot be downloaded: {reason}. Download it elsewhere and use {local_route}"
        )
    try:
        raw = load_dataset(hub_name, hub_config)
    except Exception as e:  # network errors come in many types; the message is what helps
        raise TextgruError(
            f"Hub dataset {hub_name!r} could not be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
            f"try {local_route.split()[0]} with a downloaded copy"
        ) from e
    splits = dict(splits or {"train": "train", "validation": "validation", "test": "test"})
    return DatasetDict({ours: raw[theirs] for ours, theirs in splits.items() if theirs and theirs in raw})
