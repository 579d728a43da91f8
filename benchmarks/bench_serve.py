"""Serving throughput and latency: ``shendu serve`` against a minimal PyTorch + FastAPI app, in one run.

Both servers hold the same model (the tutorial's MLP 784-512-10 with softmax, the same weights) behind the
same route, ``POST /predict`` with ``{"data": [[784 numbers]]}`` (one image per request), each a uvicorn
process on 127.0.0.1. The PyTorch app is what people write first: a pydantic body, a plain ``def``
handler (FastAPI runs it in its thread pool), ``model(torch.tensor(...))`` under ``no_grad``.
shendu's server batches concurrent requests (``--max-batch-size 32 --max-delay-ms 5``, eager).

A small asyncio HTTP/1.1 client (keep-alive connections, one per simulated client) sends requests back to
back from 1, 8 and 32 concurrent clients, after a warm-up, and records each request's latency. Only one
server is loaded at a time.

    python benchmarks/bench_serve.py                 # about 1 minute on a 2-core machine
    python benchmarks/bench_serve.py --seconds 10    # longer runs
    python benchmarks/bench_serve.py --write         # also append the table to benchmarks/RESULTS.md
"""
import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TORCH_APP = textwrap.dedent('''
    import sys

    import numpy as np
    import torch
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel

    weights = np.load(sys.argv[1])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10), torch.nn.Softmax(dim=1))
    model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files})
    model.eval()
    app = FastAPI()


    class Request(BaseModel):
        data: list[list[float]]


    @app.post("/predict")
    def predict(request: Request):
        with torch.no_grad():
            y = model(torch.tensor(request.data))
        return {"predictions": y.tolist()}


    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
''')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, port, path, timeout=90):
    import urllib.error
    import urllib.request

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def build_models(folder, seed):
    """The same MLP in shendu (saved with shendu.save) and as numpy weights for the PyTorch app."""
    import shendu as sd
    import shendu.nn as nn

    sd.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10), nn.Softmax(dim=1))
    sd.save(model, os.path.join(folder, "mlp.safetensors"), metadata={"input_shape": "[784]"})
    np.savez(os.path.join(folder, "mlp.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
    return model


# ---- the load generator ------------------------------------------------------------------------------

async def _client(port, request, stop_at, latencies, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def run_level(port, body, clients, seconds, warmup=0.5):
    request = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def main(duration):
        lat, err = [], []
        stop_at = time.perf_counter() + duration
        t0 = time.perf_counter()
        await asyncio.gather(*[_client(port, request, stop_at, lat, err) for _ in range(clients)])
        return lat, err, time.perf_counter() - t0

    asyncio.run(main(warmup))
    lat, err, wall = asyncio.run(main(seconds))
    lat = np.array(lat) * 1000
    return {"clients": clients, "requests": len(lat), "errors": len(err), "rps": len(lat) / wall,
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99))}


def _start(cmd, env):
    port = free_port()
    proc = subprocess.Popen([*cmd, str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    wait_ready(proc, port, "/docs")
    return proc, port


def _answer(port, body):
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=body,
                                 headers={"Content-Type": "application/json"})
    return np.array(json.loads(urllib.request.urlopen(req).read())["predictions"])


def _average_batch(port):
    """Samples per executed batch over the whole run, from shendu's /metrics."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()

    def total(name):
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))

    return total("shendu_inference_count_total") / max(total("shendu_inference_exec_count_total"), 1)


def _median_run(runs):
    """The run with the median throughput (its latencies with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs per server and level, alternating servers; the median run is reported")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    body = json.dumps({"data": rng.random((1, 784)).round(4).tolist()}).encode()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    runs = {"shendu": {c: [] for c in args.clients}, "pytorch": {c: [] for c in args.clients}}
    with tempfile.TemporaryDirectory() as tmp:
        build_models(tmp, args.seed)
        app_file = os.path.join(tmp, "torch_app.py")
        Path(app_file).write_text(TORCH_APP)
        commands = {
            "shendu": [sys.executable, "-m", "shendu", "serve", os.path.join(tmp, "mlp.safetensors"),
                       "--log-level", "warning", "--port"],
            "pytorch": [sys.executable, app_file, os.path.join(tmp, "mlp.npz")],
        }
        servers = {}
        try:
            for name, cmd in commands.items():
                servers[name] = _start(cmd, env)
            outputs = {name: _answer(port, body) for name, (_, port) in servers.items()}
            for c in args.clients:  # the servers take turns, so a busy moment of the machine hits both
                for _ in range(args.repeats):
                    for name, (_, port) in servers.items():
                        runs[name][c].append(run_level(port, body, c, args.seconds))
            batch = _average_batch(servers["shendu"][1])
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=20)
    diff = float(np.abs(outputs["shendu"] - outputs["pytorch"]).max())
    lines = ["| clients | shendu req/s | PyTorch req/s | throughput ratio (shendu / PyTorch) | "
             "shendu p50 / p99 ms | PyTorch p50 / p99 ms | p50 ratio (shendu / PyTorch) | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for c in args.clients:
        s, t = _median_run(runs["shendu"][c]), _median_run(runs["pytorch"][c])
        errors = sum(r["errors"] for r in runs["shendu"][c]), sum(r["errors"] for r in runs["pytorch"][c])
        lines.append(f"| {c} | {s['rps']:.0f} | {t['rps']:.0f} | {s['rps'] / t['rps']:.2f} | "
                     f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | "
                     f"{s['p50_ms'] / t['p50_ms']:.2f} | {errors[0]} / {errors[1]} |")
    import torch

    import shendu

    wall = time.perf_counter() - t_start
    try:
        load = f"load average {os.getloadavg()[0]:.1f} at the end"
    except OSError:
        load = "load average unknown"
    command = "python benchmarks/bench_serve.py" + "".join(
        f" {flag} {value}" for flag, value, default in (("--seconds", args.seconds, 3.0),
                                                         ("--repeats", args.repeats, 3)) if value != default)
    header = (f"Machine: {platform.machine()}, {os.cpu_count()} cores ({load}), Python "
              f"{platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, shendu "
              f"{shendu.__version__}; seed {args.seed}; median of {args.repeats} runs of {args.seconds:g} s "
              f"per server and level, servers alternating; wall time {wall:.0f} s; command: `{command}`. "
              f"The two servers' outputs differ by at most {diff:.1e}; shendu ran {batch:.1f} samples per "
              "batch on average over the run.")
    table = "\n".join(lines)
    print(header)
    print(table)
    if args.write:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## bench_serve.py run, {stamp}\n\nMLP 784-512-10 behind `POST /predict`, one image "
                    "per request; `shendu serve` (dynamic batching: max batch 32, max delay 5 ms, eager) "
                    f"against a minimal PyTorch + FastAPI app.\n\n{header}\n\n{table}\n")
    return runs


if __name__ == "__main__":
    main()
