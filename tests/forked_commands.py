"""Commands run as forks of a Python that has already imported torch, Lightning and the other heavy libraries.

Why: most of a test's command is starting Python and importing its libraries (on a 2-core VM, `import lightning`
alone took ~8 s: it imports torchmetrics, which imports scipy.signal, and torch._dynamo), while the work of most
commands the tests run is a second or two. A fork of a process that holds those imports starts in milliseconds.
What still runs fresh in each command: textgru itself (never imported by the preloader), the script as `__main__`,
its arguments, folder, environment, standard streams, exit code and signals (its own process id), and Python's exit
(non-daemon threads, `atexit`). What a fork shares: the libraries' import-time state, so a command whose environment
differs in a variable such libraries may read at import (any not in `SAFE_ENV`), and every
call when the imports wrote anything (a warning a user would see) or `TEXTGRU_TEST_FORK=0`, runs as a plain
subprocess instead.

The preloader is a child of the test process that serves one Unix socket: a request carries the command and three
file descriptors (stdin, stdout, stderr); it forks, answers the fork's pid, then its exit status.
"""

from __future__ import annotations

import atexit
import io
import json
import locale
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PRELOAD = ["torch", "lightning", "torchmetrics", "hydra", "omegaconf", "datasets", "tokenizers", "matplotlib", "optuna"]
# variables read at run time, not while a library loads: a command whose environment differs from the preloader's in
# these only still runs forked (PL_*: Lightning's seed, set by the tests' own trainings; KMP_DUPLICATE_LIB_OK:
# set by importing scikit-learn, read by Intel's OpenMP library, which torch's CPU build does not use)
SAFE_ENV = ("PYTHONPATH", "TEXTGRU_", "WANDB_", "HYDRA_FULL_ERROR", "PYTEST_", "PL_", "KMP_DUPLICATE_LIB_OK")


# ---- the preloader (runs as `python forked_commands.py SOCKET`) ----


def _run_in_fork(request: dict, fds: list[int]) -> None:
    """The fork's life: the command's streams, folder, environment and argv, the script as __main__, Python's exit."""
    import importlib.util
    import runpy
    import signal
    import traceback

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # signal handlers: the preloader's, which are those a fresh Python started by the test process has
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({**request["added"], **request["env"]})  # a fresh Python's imports would set `added`
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    argv = request["argv"]  # `SCRIPT ARGS...` or `-m MODULE ARGS...`, as after `python`
    module = argv[1] if argv[0] == "-m" else None
    if module is None:
        script, sys.argv = argv[0], list(argv)
        sys.path[:] = [str(Path(script).parent), *extra, *sys.path[1:]]
    else:  # runpy puts the module's file in sys.argv[0], as `python -m` does
        spec = importlib.util.find_spec(f"{module}.__main__") or importlib.util.find_spec(module)
        script, sys.argv = spec.origin, ["-m", *argv[2:]]  # type: ignore[union-attr]
        sys.path[:] = [os.getcwd(), *extra, *sys.path[1:]]
    sys.modules["numpy"].random.seed()  # a fresh Python's numpy draws its own seed; `random` reseeds itself at fork
    code = 0
    try:
        if module is None:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:  # what Python does with an uncaught exception
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:  # from the script's frame on, as Python
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb or e.__traceback__)
        code = -signal.SIGINT if isinstance(e, KeyboardInterrupt) else 1  # Python dies of SIGINT on Ctrl-C
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # Python waits for non-daemon threads at exit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = code or 120  # Python's exit code when flushing the streams fails at exit
    if code == -signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def serve(path: str) -> None:
    import selectors

    before = dict(os.environ)
    for name in PRELOAD:
        __import__(name)
    added = {k: v for k, v in os.environ.items() if before.get(k) != v}  # e.g. torch's PYTORCH_NVML_BASED_CUDA_CHECK
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    print(json.dumps({"before": before, "added": added}), flush=True)
    waiting: dict[int, socket.socket] = {}  # fork pid -> the connection to answer with its exit status
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    parent = os.getppid()
    while os.getppid() == parent:  # ends with the test process that started it
        for _ in selector.select(timeout=0.02):
            conn, _ = server.accept()
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            request = json.loads(message)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                server.close()
                conn.close()
                for other in waiting.values():
                    other.close()
                _run_in_fork(request, fds)
            for fd in fds:
                os.close(fd)
            conn.sendall(f"{pid}\n".encode())
            waiting[pid] = conn
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()


# ---- the client (in the test process) ----


class Preloader:
    """One preloader process per test process, started on first use; `run` is `subprocess.run(capture_output=True,
    text=True)` for a `python SCRIPT ARGS...` command."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="textgru-fork-")
        self.path = os.path.join(self.folder, "socket")
        self.log = open(os.path.join(self.folder, "preload.log"), "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ),  # as commands get it (the process's C environment may hold more, e.g. COLUMNS)
        )
        atexit.register(self.close)
        ready = self.proc.stdout.readline()  # type: ignore[union-attr]
        self.log.seek(0)
        said = self.log.read()
        self.usable = ready.startswith(b"{") and not said  # a library that warns at import: commands run plainly
        preloaded = json.loads(ready) if self.usable else {"before": {}, "added": {}}
        self.env, self.added = preloaded["before"], preloaded["added"]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def takes(self, env: dict[str, str]) -> bool:
        """Whether a fork runs a command in `env` as a fresh Python would: no variable that a library may read at
        import differs from the preloader's (the variables its imports set count as set)."""
        now = {**self.env, **self.added}
        changed = {k for k in set(env) | set(now) if env.get(k, self.added.get(k)) != now.get(k)}
        unsafe = sorted(k for k in changed if not k.startswith(SAFE_ENV))
        if log := os.environ.get("TEXTGRU_TEST_FORK_LOG"):  # which commands ran plainly, and why
            with open(log, "a") as f:
                f.write(f"{'fork' if self.usable and not unsafe else 'plain'} {self.usable} {unsafe}\n")
        return self.usable and not unsafe

    def run(
        self, argv: list[str], cwd: str, env: dict[str, str], stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess:
        r_in, w_in = os.pipe() if stdin is not None else (os.dup(0), None)
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            request = {"argv": argv, "cwd": cwd, "env": env, "added": self.added}
            socket.send_fds(conn, [json.dumps(request).encode()], [r_in, w_out, w_err])
            for fd in (r_in, w_out, w_err):
                os.close(fd)
            outputs: dict[int, bytes] = {}

            def drain(fd: int) -> None:
                with open(fd, "rb") as f:
                    outputs[fd] = f.read()

            readers = [threading.Thread(target=drain, args=(fd,), daemon=True) for fd in (r_out, r_err)]
            for t in readers:
                t.start()
            if w_in is not None:
                with open(w_in, "wb") as f:
                    try:
                        f.write(stdin.encode())  # type: ignore[union-attr]
                    except BrokenPipeError:
                        pass
            answers = conn.makefile("r")
            conn.settimeout(timeout)
            pid = int(answers.readline())
            try:
                code = int(answers.readline())
            except TimeoutError:
                os.kill(pid, 9)
                raise subprocess.TimeoutExpired(argv, timeout) from None
            for t in readers:
                t.join()
        return subprocess.CompletedProcess(
            [sys.executable, *argv], code, as_text(outputs[r_out]), as_text(outputs[r_err])
        )


def as_text(data: bytes) -> str:
    """What `subprocess.run(text=True)` makes of a stream: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


if __name__ == "__main__":
    serve(sys.argv[1])
