"""Starting and stopping a real textgru server for the tests: a subprocess on 127.0.0.1, a free port (port=0), its
own process group so every process it starts can be checked and ended by the test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import ROOT

URL_LINE = re.compile(r"textgru serve: (http://(?:127\.0\.0\.1|\[::1\]):\d+) ")


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


def start(args: list[str], log: Path, timeout: float = 240.0) -> Served:
    """Run `python <args>` (scripts/serve.py ... or -c ...) and wait until /health answers 200."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline, url = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if url is None:
            found = URL_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    return Served(url, process, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.25)
    stop(Served(url or "", process, log))
    raise AssertionError(f"the server did not become healthy in {timeout} s:\n{log.read_text()[-4000:]}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(served: Served, timeout: float = 60.0) -> bool:
    """SIGTERM (the server's graceful shutdown); True when the server and every process it started are gone within
    `timeout`. Whatever is left of the group the test started is then killed."""
    process, pgid = served.process, served.process.pid
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process.poll() is None or group_alive(pgid)):
        time.sleep(0.2)
    clean = process.poll() is not None and not group_alive(pgid)
    if not clean:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    return clean
