"""Files a later command reads to decide what a folder holds (metrics.json marks a finished run, config.yaml a run,
`<split>_metrics.json` an evaluation), and the files beside them (tokenizer.json, plots, samples, summaries): written
whole or not at all, so a kill, a full disk or a file-size limit mid-write never leaves half of one, nor half of an
earlier version that `overwrite=true` replaces; and a zip file (a checkpoint) checked whole when read."""

from __future__ import annotations

import contextlib
import os
import secrets
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from textgru.errors import TextgruError
from textgru.resource_errors import NO_ROOM, NOT_WRITABLE, OS_ERROR_IN_TEXT


@contextlib.contextmanager
def written_atomically(path: str | os.PathLike[str], new_only: str | None = None) -> Iterator[Path]:
    """A temporary path beside `path` (its suffix kept) to write; renamed over `path` when the block ends without an
    error, removed otherwise. With `new_only` (what to do instead), put in place only where nothing is there yet."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        if new_only is None:
            os.replace(tmp, path)
        else:
            link_new(tmp, path, str(path), new_only)
    except OSError as e:  # a full disk while a library wrote through its own file object: name the file
        e.filename = e.filename or str(path)
        raise
    except Exception as e:  # the tokenizers library's: "No space left on device (os error 28)" (a review: no file)
        found = OS_ERROR_IN_TEXT.search(str(e))
        if found is None or (code := int(found.group(1))) not in (*NO_ROOM, *NOT_WRITABLE):
            raise
        raise OSError(code, os.strerror(code), str(path)) from e
    finally:
        tmp.unlink(missing_ok=True)


def link_new(tmp: Path, path: Path, named: str, fix: str) -> None:
    """`tmp` renamed to `path` only if nothing is there (a hard link fails on an existing name, atomically): a file
    that appeared there since the command checked (another command's, the user's) is kept, one line naming `fix`."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise TextgruError(
            f"{named} appeared while this command ran (it was not there at the start) and is kept; {fix}"
        ) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise TextgruError(f"{named} appeared while this command ran and is kept; run again") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def written_together(paths: Sequence[Path], overwrite: bool, fix: str) -> Iterator[list[Path]]:
    """Temporary paths beside `paths` to write; put in place in their order when the block ends without an error, the
    last (the file that marks the set) last. Without `overwrite`, each only where nothing is there: a file that
    appeared meanwhile is kept (one line naming `fix`), and those this call had placed are taken back, so that no
    reader finds files of two commands together (a review: two evals, one report's JSON beside the other's plot)."""
    tmps = [p.with_name(f".{p.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{p.suffix}") for p in paths]
    placed: list[tuple[Path, os.stat_result]] = []
    try:
        yield tmps
        for tmp, path in zip(tmps, paths, strict=True):
            stat = os.stat(tmp)
            if overwrite:
                os.replace(tmp, path)
            else:
                link_new(tmp, path, str(path), fix)
                placed.append((path, stat))
    except BaseException:
        for path, stat in placed:  # only if still this call's own file
            with contextlib.suppress(OSError):
                if os.path.samestat(os.stat(path), stat):
                    path.unlink()
        raise
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """`text` (UTF-8) to a temporary file beside `path`, then renamed over it."""
    with written_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def damaged_member(path: Path) -> str | None:
    """What is damaged in a zip file (torch's checkpoint format), or None: the first member whose CRC-32 does not
    match (torch checks none: a checkpoint damaged in the middle loaded, its weights changed; a review), or a
    directory or member header that cannot be read."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except Exception:  # a review: a flipped byte in a name was a UnicodeDecodeError, in the directory a BadZipFile
        return "its zip directory or a member's header cannot be read"
    return None if bad is None else f"{bad} fails its checksum"
