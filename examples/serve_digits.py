"""Train a digit classifier, serve it over HTTP and ask it questions through three protocols.

    python examples/serve_digits.py            # trains for a few seconds, serves, queries, stops
    python examples/serve_digits.py --keep     # keeps serving on http://127.0.0.1:8000 (Ctrl-C stops)

What a deployment does, end to end: ``model.save`` writes a ``.keras`` file that remembers the class names;
``shendu.serve`` loads it and answers the Open Inference Protocol (as Triton does), TF Serving's
``:classify`` and the tutorial's ``/predict``; the clients below are plain HTTP.
"""
import argparse
import io
import os
import socket
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "src"))

import shendu as sd
from shendu.data import datasets
from shendu.keras import Sequential, layers


def train(epochs):
    (x, y), (xt, yt) = datasets.digits()
    x, xt = x.astype(np.float32)[..., None], xt.astype(np.float32)[..., None]  # (N, 8, 8, 1) in [0, 1]
    sd.manual_seed(0)
    model = Sequential([layers.Flatten(input_shape=(8, 8, 1)), layers.Dense(64, activation="relu"),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model, xt, yt


def start(path, port):
    """Run the server in a background thread of this process; returns the uvicorn server."""
    import uvicorn

    from shendu.serve import create_app

    config = uvicorn.Config(create_app(path), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(epochs=5, keep=False, port=None):
    import httpx

    model, xt, yt = train(epochs)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "digits.keras")
    model.save(path, metadata={"class_names": [str(d) for d in range(10)]})
    port = port or (8000 if keep else free_port())
    server = start(path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        # 1. the Open Inference Protocol (KServe V2), as tritonclient speaks it
        x = xt[:64]
        r = httpx.post(f"{url}/v2/models/digits/infer", json={"inputs": [
            {"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]})
        out = r.json()["outputs"][0]
        probs = np.reshape(out["data"], out["shape"])
        accuracy = float(np.mean(probs.argmax(axis=1) == yt[:64]))
        print(f"KServe V2 infer: {out['shape']} probabilities, accuracy on 64 test images {accuracy:.2f}")
        # 2. TF Serving's :classify: class names and probabilities, best first
        r = httpx.post(f"{url}/v1/models/digits:classify", json={"instances": x[:2].tolist(), "top_k": 3})
        print("TF Serving classify:", r.json()["results"][0], "true label:", yt[0])
        # 3. the tutorial's /predict
        r = httpx.post(f"{url}/predict", json={"data": x[:1].tolist()})
        print("/predict:", np.round(r.json()["predictions"][0], 3))
        # 4. an image upload: the 8x8 digit as a PNG, resized and scaled by the server
        from PIL import Image

        png = io.BytesIO()
        Image.fromarray((x[0, :, :, 0] * 255).astype(np.uint8)).resize((32, 32)).save(png, format="PNG")
        r = httpx.post(f"{url}/models/digits/image", content=png.getvalue(),
                       headers={"Content-Type": "image/png"})
        print("image upload:", r.json()["classes"][:2])
        # 5. a mistake gets a 400 that says what is wrong
        r = httpx.post(f"{url}/predict", json={"data": [[1, 2, 3]]})
        print(f"bad input: {r.status_code} {r.json()['error']}")
        if keep:
            print(f"serving on {url} (docs at {url}/docs); Ctrl-C stops")
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
    return accuracy


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--keep", action="store_true", help="keep serving on port 8000 after the queries")
    args = p.parse_args()
    main(args.epochs, keep=args.keep)
