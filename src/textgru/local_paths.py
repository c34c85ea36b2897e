"""Local paths as textgru names them: absolute the way the OS resolves them (`..` after a linked folder leaves the
folder it links to), and what is no local path said in words: a URI (s3://, hf://, file://) or a Windows path."""

from __future__ import annotations

import os
import re
from pathlib import Path

URI = re.compile(r"^[A-Za-z][\w+.-]*://")
DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")  # C:\out, C:/out, C:


def os_absolute(path: str) -> str:
    """`path` (`~` expanded) made absolute as the OS resolves it: the part up to its last `..` through links (a
    review: `linkdir/../x.csv`, made absolute textually, named ./x.csv, where the OS reads the x.csv beside the folder
    linkdir links to); the rest, and a path without `..`, as given, so a linked file keeps the name given."""
    path = os.path.expanduser(path)
    parts = Path(path).parts
    if ".." not in parts:
        return os.path.abspath(path)
    last = len(parts) - parts[::-1].index("..")  # just after the last `..`
    out = os.path.join(os.path.realpath(os.path.join(*parts[:last])), *parts[last:])
    return out + os.sep if path.endswith(os.sep) and not out.endswith(os.sep) else out  # `*/`: folders only


def not_local(value: str, new: bool) -> str | None:
    """Why `value` is no local path, or None: a URI, or a Windows path where `new` (an output, or an input that does
    not exist) in the part that does not exist: a backslash is a character of a Linux file name, so a path that exists
    with one is that path (reviews: output=s3://b/x.jsonl wrote ./s3:/b/x.jsonl, output='C:\\out\\p.jsonl' a file
    of that name)."""
    if URI.match(value):
        plain = value[7:] if value[:7].lower() == "file://" else ""
        fix = (
            f"give the path itself, {plain}"
            if plain.startswith("/")
            else "give a local path (copy to or from it yourself)"
        )
        return f"is a URI; textgru reads and writes local paths only: {fix}"
    made = _not_there(value) if new else ""
    if "\\" in made or DRIVE.match(value) and DRIVE.match(made):  # a drive only as typed first (not runs/C:)
        return "is a Windows path; textgru reads and writes local paths: use / to separate folders (e.g. out/x)"
    return None


def _not_there(value: str) -> str:
    """The part of path `value` that does not exist (what writing it would make): a folder above it that holds a
    backslash in its name, a Linux one, is no Windows path."""
    p = Path(os.path.expanduser(value))
    there = next((q for q in (p, *p.parents) if os.path.lexists(q)), None)
    return str(p) if there is None else "" if there == p else str(p.relative_to(there))
