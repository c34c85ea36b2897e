"""Datasets from the Hugging Face Hub by name, with a fast, one-line failure when the Hub can't be reached."""

from __future__ import annotations

import os
import socket

from datasets import DatasetDict, load_dataset

from textgru.errors import TextgruError

HUB_HOST = "huggingface.co"


def offline_mode() -> str | None:
    """The environment variable that puts `datasets` in offline mode (it then reads only its cache), or None."""
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return var
    return None


def hub_unreachable_reason(timeout: float = 3.0) -> str | None:
    """Why the Hub's host cannot be reached now (checked in `timeout` seconds, not `datasets`' retries), or None."""
    endpoint = os.environ.get("HF_ENDPOINT", f"https://{HUB_HOST}")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return f"{host} cannot be reached"
    return None


LOCAL_LABELLED = "data=local data.path=<file or folder> data.text_column=... data.label_column=..."
LOCAL_TEXT = "data=local_text data.path=<text file, folder or glob>"


def load_hub(
    hub_name: str, hub_config: str | None = None, splits: dict | None = None, local_route: str = LOCAL_LABELLED
) -> DatasetDict:
    """`load_dataset(hub_name, hub_config)` with our split names (`splits` maps ours to the Hub's);
    `local_route` is the command-line advice for using a downloaded copy instead. In offline mode
    (`HF_DATASETS_OFFLINE=1`) a copy in `datasets`' cache is used, as `datasets` itself does."""
    offline = offline_mode()
    if offline is None:
        reason = hub_unreachable_reason()
        if reason is not None:
            raise TextgruError(
                f"Hub dataset {hub_name!r} cannot be downloaded: {reason}. Set HF_DATASETS_OFFLINE=1 to use a copy "
                f"downloaded before (datasets' cache), or download it elsewhere and use {local_route}"
            )
    try:
        raw = load_dataset(hub_name, hub_config)
    except Exception as e:  # network errors come in many types; the message is what helps
        if offline is not None:
            raise TextgruError(
                f"Hub dataset {hub_name!r} cannot be downloaded: {offline}=1 is set and datasets' cache has no copy "
                f"of it. Run once where the Hub can be reached, or download it elsewhere and use {local_route}"
            ) from e
        raise TextgruError(
            f"Hub dataset {hub_name!r} could not be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
            f"try {local_route.split()[0]} with a downloaded copy"
        ) from e
    splits = dict(splits or {"train": "train", "validation": "validation", "test": "test"})
    return DatasetDict({ours: raw[theirs] for ours, theirs in splits.items() if theirs and theirs in raw})


def fetch_hub_source(data_cfg: dict) -> None:
    """Load a Hub data config's dataset once (`data.source=hub`; other sources: nothing), as a search does before its
    trials: unreachable, or offline and not in the cache, it is one line then instead of in every trial."""
    if data_cfg.get("source") == "hub":
        route = LOCAL_LABELLED if "label_column" in data_cfg else LOCAL_TEXT
        load_hub(data_cfg["hub_name"], data_cfg.get("hub_config"), data_cfg.get("splits"), route)
