"""Commands run as forks of a Python that has already imported torch, Lightning and the other heavy libraries.

Why: most of a test's command is starting Python and importing its libraries (on a 2-core VM, `import lightning`
alone took ~8 s: it imports torchmetrics, which imports scipy.signal, and torch._dynamo), while the work of most
commands the tests run is a second or two. A fork of a process that holds those imports starts in milliseconds.

What runs as in a fresh Python: textgru itself (never imported by the preloader), the script or `-m` module as a
new `__main__`, its arguments, folder, environment, `sys.path`, standard streams, exit code, its own process id, a
fresh seed for numpy and torch, the traceback of an uncaught exception (`sys.excepthook`) and Python's own exit
(threads, `atexit`, `__main__`'s objects, flushing, `SystemExit` codes; not the teardown of other modules). What a
fork shares with the preloader: the libraries it imported (so a submodule used without its import, e.g.
`logging.handlers`, can pass here and fail for a user) and the hash seed. So a command runs as a fresh Python instead when its environment differs in a variable a library may read at
import (any not in `SAFE_ENV`), when its PYTHONPATH holds a module the preloader has loaded or a site hook, when the
test asks (`fresh=True`: timing or `getrusage` of start-up), for every command when the preloader's imports wrote
anything (a warning a user would see), and with `TEXTGRU_TEST_FORK=0`.

The preloader is a child of the test process that serves one Unix socket: a request carries the command and three
file descriptors (stdin, stdout, stderr); it forks (the fork leads its own process group, which a timeout kills),
answers the fork's pid, then its exit status.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import locale
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PRELOAD = ["torch", "lightning", "torchmetrics", "hydra", "omegaconf", "datasets", "tokenizers", "matplotlib", "optuna"]
# variables read at run time, not while a library loads: a command whose environment differs from the preloader's in
# these only still runs forked (PL_*: Lightning's seed, set by the tests' own trainings; KMP_DUPLICATE_LIB_OK:
# set by importing scikit-learn, read by Intel's OpenMP library, which torch's CPU build does not use;
# _MLFLOW_TELEMETRY_SESSION_ID: set by MLflow in a test's process, an id its telemetry reads)
SAFE_ENV = ("PYTHONPATH", "TEXTGRU_", "WANDB_", "HYDRA_FULL_ERROR", "PYTEST_", "PL_", "KMP_DUPLICATE_LIB_OK",
            "_MLFLOW_TELEMETRY_SESSION_ID")  # fmt: skip
SITE_HOOKS = {"sitecustomize", "usercustomize"}


# ---- the preloader (runs as `python forked_commands.py SOCKET`) ----


def _trimmed(tb, first_code_of):
    """The traceback from the first frame `first_code_of(code)` picks, as a fresh Python's starts; None if none."""
    while tb is not None and not first_code_of(tb.tb_frame.f_code):
        tb = tb.tb_next
    return tb


def _run_in_fork(request: dict, fds: list[int], base_path: list[str]) -> None:
    """The fork's life: the command's streams, folder, environment, path and argv, the script or module as a new
    __main__, then Python's exit work (`_exit_as_python`); it never returns."""
    import builtins
    import runpy
    import traceback
    import types
    from importlib.machinery import SourceFileLoader

    try:
        os.setpgid(0, 0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({**request["added"], **request["env"]})  # a fresh Python's imports would set `added`
        argv = request["argv"]  # `SCRIPT ARGS...` or `-m MODULE ARGS...`, as after `python`
        module = argv[1] if argv[0] == "-m" else None
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.getcwd() if module else str(Path(argv[0]).parent), *extra, *base_path]
        sys.argv = ["-m", *argv[2:]] if module else list(argv)  # runpy puts the module's file in argv[0]
        sys.modules["numpy"].random.seed()  # fresh seeds, as a new Python draws (`random` reseeds itself at fork)
        sys.modules["torch"].seed()
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
    except BaseException:  # the fork could not become the command: say so, leave the preloader's loop
        traceback.print_exc()
        os._exit(255)
    try:
        if module is not None:
            runpy._run_module_as_main(module)  # type: ignore[attr-defined]  # what `python -m` calls
        else:
            script = argv[0]
            main.__dict__.update(__file__=script, __cached__=None, __builtins__=builtins, __spec__=None)
            main.__loader__ = SourceFileLoader("__main__", script)
            with open(script, "rb") as f:
                code = compile(f.read(), script, "exec")
            exec(code, main.__dict__)
    except SystemExit as e:
        code = e.code
    except BaseException as e:  # what Python does with an uncaught exception
        if module is not None:
            tb = _trimmed(e.__traceback__, lambda c: c.co_name == "_run_module_as_main")
        else:
            tb = _trimmed(e.__traceback__, lambda c: c.co_filename == argv[0])
        e.__traceback__ = tb  # Python's hook prints the exception's own traceback
        sys.excepthook(type(e), e, tb)
        code = "SIGINT" if isinstance(e, KeyboardInterrupt) else 1
    else:
        code = 0
    del main
    _exit_as_python(code)


def _exit_as_python(code: object) -> None:
    """Python's exit work for the command: its non-daemon threads, `atexit`, its __main__'s objects (their __del__,
    their files closed), the streams flushed, the exit code from `SystemExit`'s value; then `os._exit`: the teardown
    of every other module (~2 s a command with the preloaded libraries) is skipped, so what only that teardown does
    (a `__del__` or an unflushed file held in a module's globals) is not seen here."""
    import gc

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.modules["__main__"].__dict__.clear()
    gc.collect()
    if code is None or code == "SIGINT":
        status = 0
    elif isinstance(code, int):
        status = code % 256
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (s for s in (sys.stdout, sys.stderr) if s is not None and not s.closed):
        try:
            stream.flush()
        except Exception:
            status = 120
    if code == "SIGINT":  # Python ends an uncaught KeyboardInterrupt by dying of SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def _answer(conn: socket.socket, line: str) -> None:
    try:
        conn.sendall(f"{line}\n".encode())
    except OSError:  # the client gave up (a timeout, Ctrl-C): it kills the fork itself
        pass


def serve(path: str) -> None:
    import selectors

    before = dict(os.environ)
    for name in PRELOAD:
        __import__(name)
    added = {k: v for k, v in os.environ.items() if before.get(k) != v}  # e.g. torch's PYTORCH_NVML_BASED_CUDA_CHECK
    own = {os.path.abspath(p) for p in before.get("PYTHONPATH", "").split(os.pathsep) if p}
    base_path = [p for p in sys.path[1:] if os.path.abspath(p) not in own]  # a fresh Python's, less PYTHONPATH
    loaded = sorted({name.partition(".")[0] for name in sys.modules})
    gc.freeze()  # what the imports made stays out of the forks' collections (a fork's exit collects in ms, not 0.5 s)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    print(json.dumps({"before": before, "added": added, "loaded": loaded}), flush=True)
    waiting: dict[int, socket.socket] = {}  # fork pid -> the connection to answer with its exit status
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    parent = os.getppid()
    while os.getppid() == parent:  # ends with the test process that started it
        for _ in selector.select(timeout=0.02):
            conn, _ = server.accept()
            message, fds, _, _ = socket.recv_fds(conn, 1 << 22, 3)
            pid = os.fork()
            if pid == 0:
                selector.close()
                server.close()
                conn.close()
                for other in waiting.values():
                    other.close()
                _run_in_fork(json.loads(message), fds, base_path)
            try:
                os.setpgid(pid, pid)  # also here: the client may kill the group before the fork has set it
            except OSError:
                pass
            for fd in fds:
                os.close(fd)
            _answer(conn, str(pid))
            waiting[pid] = conn
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if (conn := waiting.pop(pid, None)) is not None:
                _answer(conn, str(os.waitstatus_to_exitcode(status)))
                conn.close()


# ---- the client (in the test process) ----


class Preloader:
    """One preloader process per test process, started on first use; `run` is `subprocess.run(capture_output=True,
    text=True)` for a `python ARGV...` command."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="textgru-fork-")
        self.path = os.path.join(self.folder, "socket")
        self.log = open(os.path.join(self.folder, "preload.log"), "w+b")
        self.running: set[int] = set()
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
        preloaded = json.loads(ready) if self.usable else {"before": {}, "added": {}, "loaded": []}
        self.env, self.added, self.loaded = preloaded["before"], preloaded["added"], set(preloaded["loaded"])

    def close(self) -> None:
        for pid in list(self.running):
            _kill_group(pid)
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def takes(self, env: dict[str, str], logged: bool = True) -> bool:
        """Whether a fork runs a command in `env` as a fresh Python would: no variable that a library may read at
        import differs from the preloader's (the variables its imports set count as set), and its PYTHONPATH holds
        neither a site hook nor a module the preloader has loaded (the fork would keep the loaded one)."""
        now = {**self.env, **self.added}
        changed = {k for k in set(env) | set(now) if env.get(k, self.added.get(k)) != now.get(k)}
        unsafe = sorted(k for k in changed if not k.startswith(SAFE_ENV))
        for folder in (p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.isdir(p)):
            names = {Path(n).stem if n.endswith(".py") else n for n in os.listdir(folder)}
            unsafe += sorted(f"PYTHONPATH:{n}" for n in names & (self.loaded | SITE_HOOKS))
        if logged and (log := os.environ.get("TEXTGRU_TEST_FORK_LOG")):  # which commands ran plainly, and why
            with open(log, "a") as f:
                f.write(f"{'fork' if self.usable and not unsafe else 'plain'} {self.usable} {unsafe}\n")
        return self.usable and not unsafe and self.proc.poll() is None

    def run(
        self, argv: list[str], cwd: str, env: dict[str, str], stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess:
        command = [sys.executable, *argv]
        if not os.path.isdir(cwd):
            raise FileNotFoundError(2, "No such file or directory", cwd)  # as subprocess.run says it
        deadline = time.monotonic() + timeout
        ours: list[int] = []  # descriptors this call opened and has not closed yet
        r_in, w_in = os.pipe() if stdin is not None else (os.dup(0), None)
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe()
        ours += [fd for fd in (r_in, w_in, r_out, w_out, r_err, w_err) if fd is not None]
        outputs: dict[int, bytes] = {r_out: b"", r_err: b""}
        pid = None

        def drain(fd: int) -> None:
            with open(fd, "rb", closefd=False) as f:
                outputs[fd] = f.read()

        def feed(fd: int) -> None:  # owns `fd`: closed here when the write ends, never while it is under way, where
            # the number could be reused by the next call's pipe and the rest of this input go there (seen: a timed-out
            # call's 1 MB of "x" read by the next command, on a busy machine)
            try:
                with open(fd, "wb") as f:
                    f.write(stdin.encode(locale.getpreferredencoding(False)))  # type: ignore[union-attr]
            except OSError:  # the command ended (or was killed at a timeout) before reading it all
                pass

        def close(fd: int) -> None:
            if fd in ours:
                ours.remove(fd)
                os.close(fd)

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(max(deadline - time.monotonic(), 0.001))
                conn.connect(self.path)
                request = {"argv": argv, "cwd": cwd, "env": env, "added": self.added}
                socket.send_fds(conn, [json.dumps(request).encode()], [r_in, w_out, w_err])
                for fd in (r_in, w_out, w_err):
                    close(fd)
                threads = [threading.Thread(target=drain, args=(fd,), daemon=True) for fd in (r_out, r_err)]
                threads += [threading.Thread(target=feed, args=(w_in,), daemon=True)] if w_in is not None else []
                if w_in is not None:
                    ours.remove(w_in)  # the feeding thread's now
                for t in threads:
                    t.start()
                answers = conn.makefile("r")
                pid = int(answers.readline())
                self.running.add(pid)
                conn.settimeout(max(deadline - time.monotonic(), 0.001))
                code = int(answers.readline())
                self.running.discard(pid)
            for t in threads:  # a process the command started may still hold its output open
                t.join(max(deadline - time.monotonic(), 0))
            if any(t.is_alive() for t in threads):
                raise TimeoutError
        except TimeoutError:
            _kill_group(pid)
            raise subprocess.TimeoutExpired(command, timeout, output=outputs[r_out], stderr=outputs[r_err]) from None
        except BaseException:
            _kill_group(pid)  # as subprocess.run kills its child when interrupted
            raise
        finally:
            if pid is not None:
                self.running.discard(pid)
            for fd in list(ours):
                close(fd)
        return subprocess.CompletedProcess(command, code, as_text(outputs[r_out]), as_text(outputs[r_err]))


def _kill_group(pid: int | None) -> None:
    """SIGKILL the fork `pid` and the processes it started (its process group)."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def as_text(data: bytes) -> str:
    """What `subprocess.run(text=True)` makes of a stream: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


if __name__ == "__main__":
    serve(sys.argv[1])
