"""Load on a real `textgru serve` on 127.0.0.1: /predict at 1, 8 and 64 concurrent clients with dynamic
batching (max_batch_size=64) against none (max_batch_size=1), and /generate streams at 1, 8 and 32 at once.

Usage: python bench/serve_load.py --classifier RUN --lm RUN [--requests 5000] [--repeats 5] [--stream-tokens 200]
With --lm it also times the LM's batched GRU step alone at the stream counts (the model's own scaling with rows).
Each setting runs `--repeats` rounds (bounded in count and in `--max-seconds` per round); the client is a minimal
asyncio HTTP/1.1 keep-alive client (lighter than httpx, since it shares the cores with the server). Reports
requests/s (min/median/max over rounds), p50/p99 latency, errors, the server's memory (RSS summed over its
processes) before, after each /predict round and after, and the CPU time the server used per request or token (a measure that holds when
other work shares the cores); for streams, aggregate new tokens/s and time to first token. Prints tables and
writes JSON with the machine, the load average and the busiest other processes at the time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import add_out_argument, description, parse_args, positive_float, positive_int, run_main, write_result

ROOT = Path(__file__).resolve().parents[1]
URL_LINE = re.compile(r"textgru serve: http://127\.0\.0\.1:(\d+) ")


# ---- the server ----------------------------------------------------------------------------------------------


def start_server(args: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    with open(log, "wb") as out:  # the server runs in the caller's folder: relative model paths are read from there
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "serve.py"), "port=0", "log_level=warning", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline, port = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()[-3000:]}")
        found = URL_LINE.search(log.read_text(errors="replace"))
        if found:
            port = int(found.group(1))
            try:
                status, _ = asyncio.run(request(port, "GET", "/health"))
                if status == 200:
                    return proc, port
            except OSError:
                pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("the server did not become healthy in 300 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its descendants: what the server cost, whatever else
    ran on the machine."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants (MB; shared pages counted in each process)."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def others(exclude: int) -> list[str]:
    """The busiest processes on the machine that are not this benchmark or its server."""
    ps = ["ps", "-eo", "pid,pgid,pcpu,etime,args", "--sort=-pcpu"]
    out = subprocess.run(ps, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 4)
        if len(parts) == 5 and int(parts[1]) not in (exclude, os.getpgid(0)) and float(parts[2]) >= 5:
            rows.append(f"{parts[2]}% {parts[4][:110]}")
    return rows[:8]


# ---- a minimal HTTP/1.1 client ------------------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), headers


async def read_chunks(reader: asyncio.StreamReader):
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return
        chunk = await reader.readexactly(size)
        await reader.readexactly(2)
        yield chunk


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    return head.encode() + b"\r\n" + body


async def request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(http_request(method, path, body))
        status, headers = await read_response(reader)
        data = await reader.readexactly(int(headers.get("content-length", 0)))
        return status, data
    finally:
        writer.close()


# ---- /predict load ------------------------------------------------------------------------------------------


def make_texts(n: int, seed: int = 0) -> list[bytes]:
    words = (
        "good great bad awful love hate the a day train late again lovely concert best worst ever today "
        "weather rain sun happy sad movie food service okay fine not really so very"
    ).split()
    rng = random.Random(seed)
    return [
        json.dumps({"text": " ".join(rng.choice(words) for _ in range(rng.randint(2, 40)))}).encode() for _ in range(n)
    ]


async def predict_round(port: int, clients: int, count: int, bodies: list[bytes], max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + max_seconds

    async def client(i: int) -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < count and time.perf_counter() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                t = time.perf_counter()
                try:
                    writer.write(http_request("POST", "/predict", body))
                    status, headers = await read_response(reader)
                    data = await reader.readexactly(int(headers.get("content-length", 0)))
                    ok = status == 200 and b'"label"' in data
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - t)
                errors += not ok
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - start
    return {"requests": len(latencies), "errors": errors, "wall": wall, "latencies": latencies}


# ---- /generate streams --------------------------------------------------------------------------------------


async def one_stream(port: int, body: dict[str, Any], start: float) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = None
    done: dict[str, Any] = {}
    try:
        writer.write(http_request("POST", "/generate", json.dumps(body).encode()))
        status, headers = await read_response(reader)
        if status != 200:
            return {"error": status}
        buffer = b""
        async for chunk in read_chunks(reader):
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                kind = block.split(b"\n", 1)[0].removeprefix(b"event: ")
                if kind == b"piece" and first is None:
                    first = time.perf_counter() - start
                if kind == b"done":
                    done = json.loads(block.split(b"data: ", 1)[1])
                if kind == b"error":
                    return {"error": block.decode()}
    finally:
        writer.close()
    return {"ttft": first, "new_tokens": done.get("new_tokens", 0)}


async def stream_round(port: int, n: int, tokens: int, seed0: int) -> dict[str, Any]:
    start = time.perf_counter()
    bodies = [
        {"prompt": "ROMEO:\n", "max_new_tokens": tokens, "seed": seed0 + i, "stream": True, "temperature": 0.8}
        for i in range(n)
    ]
    results = await asyncio.gather(*(one_stream(port, b, start) for b in bodies))
    wall = time.perf_counter() - start
    errors = sum(1 for r in results if "error" in r)
    new_tokens = sum(r.get("new_tokens", 0) for r in results)
    return {
        "wall": wall,
        "errors": errors,
        "tokens_per_s": new_tokens / wall,
        "new_tokens": new_tokens,
        "ttft": [r["ttft"] for r in results if r.get("ttft") is not None],
    }


def step_bound(lm_path: str, rows: list[int], threads: int, repeats: int = 5) -> dict[int, float]:
    """The model alone, in this process after the servers stopped: new tokens/s of one batched GRU step
    (`sampling.step_model`) at each row count, with the server's torch threads; the median over `repeats` timings
    of 200 steps: the model's own scaling with rows, and the most tokens/s n streams can reach."""
    import torch

    import textgru
    from textgru.inference.sampling import step_model

    torch.set_num_threads(threads)
    model = textgru.load(lm_path).model
    out = {}
    with torch.inference_mode():
        for n in rows:
            ids = torch.ones(n, dtype=torch.long)
            _, hidden = model(ids[:, None])  # (layers, n, hidden)
            for _ in range(20):
                step_model(model, ids, hidden)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(200):
                    step_model(model, ids, hidden)
                times.append(time.perf_counter() - start)
            out[n] = 200 * n / statistics.median(times)
    return out


# ---- the report ---------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def table(rows: list[dict[str, Any]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    return "\n".join(lines)


def predict_row(batch: int, clients: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    rps = [r["requests"] / r["wall"] for r in rounds]
    lat = [x for r in rounds for x in r["latencies"]]
    n = sum(r["requests"] for r in rounds)
    return {
        "max_batch_size": batch,
        "clients": clients,
        "requests": n,
        "errors": sum(r["errors"] for r in rounds),
        "req/s min/median/max": f"{min(rps):.0f} / {statistics.median(rps):.0f} / {max(rps):.0f}",
        "p50 ms": round(1000 * pct(lat, 50), 1),
        "p99 ms": round(1000 * pct(lat, 99), 1),
        "server CPU ms/req": round(1000 * sum(r["server_cpu"] for r in rounds) / max(1, n), 2),
        "client CPU ms/req": round(1000 * sum(r["client_cpu"] for r in rounds) / max(1, n), 2),
        "rps": rps,
    }


def stream_row(n: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    tps = [r["tokens_per_s"] for r in rounds]
    ttft = [x for r in rounds for x in r["ttft"]]
    return {
        "streams": n,
        "errors": sum(r["errors"] for r in rounds),
        "new tokens/s min/median/max": f"{min(tps):.0f} / {statistics.median(tps):.0f} / {max(tps):.0f}",
        "TTFT p50 ms": round(1000 * pct(ttft, 50), 1),
        "TTFT p99 ms": round(1000 * pct(ttft, 99), 1),
        "server CPU ms/token": round(
            1000 * sum(r["server_cpu"] for r in rounds) / max(1, sum(r["new_tokens"] for r in rounds)), 3
        ),
        "tokens_per_s": tps,
    }


def ratio(a: float, b: float) -> float | None:
    """a / b, or None (JSON null, printed "n/a") where either is 0: a CPU reading under the clock's tick, or no
    tokens, is no measurement (a review: a stream round's 0.0 server CPU ms/token was a ZeroDivisionError after all
    the measuring, and no JSON)."""
    return a / b if a and b else None


def times(value: float | None, spec: str) -> str:
    """A ratio as "1.23x" (`spec`), or "n/a" for None."""
    return "n/a" if value is None else f"{value:{spec}}x"


def shown(rows: list[dict[str, Any]], hidden: str) -> str:
    return table([{k: v for k, v in r.items() if k != hidden} for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--classifier", required=True)
    parser.add_argument("--lm", default=None)
    parser.add_argument("--clients", type=positive_int, nargs="+", default=[1, 8, 64])
    parser.add_argument(
        "--requests",
        type=positive_int,
        default=5000,
        help="requests per setting at the most clients (fewer below), split over the --repeats rounds; each round "
        "sends at least 100 (fewer only where --max-seconds ends it)",  # a review: --requests 4 sent 100, unsaid
    )
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--max-seconds", type=positive_float, default=60.0, help="per round")
    parser.add_argument("--streams", type=positive_int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--stream-tokens", type=positive_int, default=200)
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="the server's threads= (torch threads of the server process)"
    )
    parser.add_argument("--server-arg", action="append", default=[], help="more key=value for scripts/serve.py")
    add_out_argument(parser, "serve_load.json")
    args = parse_args(parser)
    bodies = make_texts(2000)
    from textgru.serving.process import http_stack

    # with _common's machine (cores, torch, Python, platform): uvloop and httptools, or asyncio and h11 (they change
    # the server's CPU cost)
    machine = {"http": http_stack()}
    extra = ([f"threads={args.threads}"] if args.threads else []) + args.server_arg
    report: dict[str, Any] = {
        "machine": machine,
        "args": vars(args),
        "predict": [],
        "streams": [],
        "memory": {},
        "load_before": os.getloadavg(),
        "others_before": others(-1),
    }
    print(f"load average before: {os.getloadavg()}")
    servers: dict[int, tuple[subprocess.Popen, int]] = {}
    try:  # both servers up at once, their rounds interleaved, so a change in other load hits both alike
        for batch in (64, 1):
            lm = [f"lm={args.lm}"] if args.lm else []  # both servers hold the same models: their memory compares
            servers[batch] = start_server(
                [f"classifier={args.classifier}", *lm, f"max_batch_size={batch}", "limits.max_streams=64", *extra],
                Path(tempfile.gettempdir()) / f"serve_load_{batch}.{os.getpid()}.log",  # each run's own
            )
        for batch, (proc, port) in servers.items():
            asyncio.run(predict_round(port, 8, 200, bodies, 60))  # warm-up
            report["memory"][f"max_batch_size={batch}"] = {"before": tree_rss_mb(proc.pid)}
        for clients in args.clients:
            count = max(100, args.requests // args.repeats * clients // max(args.clients))
            rounds: dict[int, list[dict[str, Any]]] = {b: [] for b in servers}
            for _ in range(args.repeats):
                for batch, (proc, port) in servers.items():
                    cpu, own = tree_cpu_s(proc.pid), time.process_time()
                    result = asyncio.run(predict_round(port, clients, count, bodies, args.max_seconds))
                    result["server_cpu"], result["client_cpu"] = tree_cpu_s(proc.pid) - cpu, time.process_time() - own
                    rounds[batch].append(result)
                    report["memory"][f"max_batch_size={batch}"].setdefault("rounds", []).append(tree_rss_mb(proc.pid))
            for batch in servers:
                report["predict"].append(predict_row(batch, clients, rounds[batch]))
        for batch, (proc, _) in servers.items():
            report["memory"][f"max_batch_size={batch}"]["after"] = tree_rss_mb(proc.pid)
        print(shown(report["predict"], "rps"))
        if args.lm:  # the unbatched server goes first: the stream rounds have the cores to themselves
            stop_server(servers.pop(1)[0])
            proc, port = servers[64]
            report["memory"]["streams"] = {"before": tree_rss_mb(proc.pid)}
            stream_rounds: dict[int, list[dict[str, Any]]] = {n: [] for n in args.streams}
            for r in range(args.repeats):  # the stream counts interleaved, so a change in other load hits all alike
                for n in args.streams:
                    cpu = tree_cpu_s(proc.pid)
                    stream_rounds[n].append(asyncio.run(stream_round(port, n, args.stream_tokens, 100 * r)))
                    stream_rounds[n][-1]["server_cpu"] = tree_cpu_s(proc.pid) - cpu
            report["streams"] = [stream_row(n, rounds_) for n, rounds_ in stream_rounds.items()]
            report["memory"]["streams"]["after"] = tree_rss_mb(proc.pid)
            print(shown(report["streams"], "tokens_per_s"))
        report["others_during"] = others(servers[64][0].pid)
    finally:
        for proc, _ in servers.values():
            stop_server(proc)
    report["load_after"] = os.getloadavg()
    for name, memory in report["memory"].items():
        print(f"server memory ({name}): {memory['before']} MB before, {memory.get('after')} MB after")
        if memory.get("rounds"):  # flat memory: the last rounds add nothing
            print(f"  after each /predict round, in order (MB): {memory['rounds']}")
    med = {(r["max_batch_size"], r["clients"]): statistics.median(r["rps"]) for r in report["predict"]}
    top = max(args.clients)
    if (64, top) in med and (1, top) in med:
        report["batching_speedup_at_most_clients"] = ratio(med[(64, top)], med[(1, top)])
        cpu = {(r["max_batch_size"], r["clients"]): r["server CPU ms/req"] for r in report["predict"]}
        report["batching_cpu_saving_at_most_clients"] = ratio(cpu[(1, top)], cpu[(64, top)])
        print(
            f"dynamic batching at {top} clients: {times(report['batching_speedup_at_most_clients'], '.2f')} the "
            f"requests/s of max_batch_size=1, {times(report['batching_cpu_saving_at_most_clients'], '.2f')} less "
            "server CPU per request"
        )
    if report["streams"]:
        s = {r["streams"]: statistics.median(r["tokens_per_s"]) for r in report["streams"]}
        report["stream_speedup"] = {n: ratio(s[n], s[min(s)]) for n in s}
        c = {r["streams"]: r["server CPU ms/token"] for r in report["streams"]}
        report["stream_cpu_saving"] = {n: ratio(c[min(c)], c[n]) for n in c}
        print(
            "aggregate new tokens/s against one stream: "
            + ", ".join(f"{n}: {times(v, '.1f')}" for n, v in report["stream_speedup"].items())
            + "; server CPU per token, one stream's over n streams': "
            + ", ".join(f"{n}: {times(v, '.1f')}" for n, v in report["stream_cpu_saving"].items())
        )
        bound = step_bound(args.lm, args.streams, args.threads or 1)
        report["model_step_tokens_per_s"] = bound
        print(
            f"the model's GRU step alone ({args.threads or 1} thread(s), new tokens/s): "
            + ", ".join(f"{n} rows {v:.0f} ({v / bound[min(bound)]:.1f}x)" for n, v in bound.items())
        )
    print(f"load average after: {os.getloadavg()}; other busy processes: {report['others_during']}")
    write_result(args.out, report)


if __name__ == "__main__":
    run_main(main)
