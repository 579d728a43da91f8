"""Helpers and fixtures of the serve tests: a small model repository and a real ``shendu serve`` process."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import require

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_mlp(seed, n_in=4, n_out=3):
    import shendu as sd
    import shendu.nn as nn

    sd.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))


def make_cnn():
    """A Keras-style CNN on 8x8 grey images, 3 classes with names (as ``shendu train --save`` writes)."""
    import shendu as sd
    from shendu.keras import Sequential, layers

    sd.manual_seed(0)
    model = Sequential([layers.Conv2D(4, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def build_repository(root):
    """models/mlp/1, models/mlp/2 (shendu.save modules) and models/cnn/1 (.keras with class names)."""
    import shendu as sd

    for v in (1, 2):
        os.makedirs(root / "mlp" / str(v))
        sd.save(make_mlp(v), root / "mlp" / str(v) / "model.safetensors")
    os.makedirs(root / "cnn" / "1")
    make_cnn().save(str(root / "cnn" / "1" / "model.keras"),
                    metadata={"class_names": ["circle", "square", "cross"], "dataset": "shapes"})
    return root


@pytest.fixture(scope="session")
def repository(tmp_path_factory):
    require("fastapi")
    return build_repository(tmp_path_factory.mktemp("models"))


class Server:
    def __init__(self, proc, url, port):
        self.proc, self.url, self.port = proc, url, port


def start_server(path, *flags, timeout=60):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "shendu", "serve", str(path), "--port", str(port),
                             "--log-level", "warning", *flags],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    import httpx

    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"shendu serve exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            if httpx.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                return Server(proc, url, port)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"shendu serve did not start in {timeout}s: {proc.stdout.read()}")


def stop_server(server):
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def server(repository):
    require("uvicorn")
    require("httpx")
    s = start_server(repository, "--max-delay-ms", "2")
    yield s
    stop_server(s)


@pytest.fixture
def client(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def x4():
    return np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
