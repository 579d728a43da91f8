"""A real ``shendu serve`` process on 127.0.0.1: every endpoint, tritonclient, every bad input, a load test."""
import asyncio
import io
import json
import re

import numpy as np
import pytest
import serve_fixtures as fx
from serve_fixtures import make_cnn, make_mlp, start_server, stop_server

from conftest import require

# the fixtures this module uses (pytest finds them by these names)
repository, server, client, x4 = fx.repository, fx.server, fx.client, fx.x4


def mlp_out(version, x):
    import shendu as sd

    with sd.no_grad():
        return make_mlp(version)(sd.tensor(x)).numpy()


def v2_body(x, name="input", datatype="FP32"):
    return {"inputs": [{"name": name, "shape": list(x.shape), "datatype": datatype,
                        "data": x.reshape(-1).tolist()}]}


# ---- health, metadata, docs -----------------------------------------------------------------------

def test_health_server_and_model_metadata(client):
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get("/v2").json()
    assert meta["name"] == "shendu" and "binary_tensor_data" in meta["extensions"]
    mlp = client.get("/v2/models/mlp").json()
    assert mlp["versions"] == ["1", "2"] and mlp["platform"] == "shendu_module"
    assert mlp["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert mlp["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 3]}]
    cnn = client.get("/v2/models/cnn/versions/1").json()
    assert cnn["inputs"][0]["shape"] == [-1, 8, 8, 1] and cnn["platform"] == "shendu_keras"
    assert client.get("/v2/models/mlp/ready").status_code == 200
    assert client.get("/v2/models/mlp/versions/1/ready").status_code == 200
    assert client.get("/v2/models/mlp/config").json()["max_batch_size"] == 32
    index = client.post("/v2/repository/index").json()
    assert {(m["name"], m["version"]) for m in index} == {("mlp", "1"), ("mlp", "2"), ("cnn", "1")}
    status = client.get("/v1/models/mlp").json()["model_version_status"]
    assert [s["version"] for s in status] == ["1", "2"] and status[0]["state"] == "AVAILABLE"
    sig = client.get("/v1/models/cnn/metadata").json()["metadata"]["signature_def"]["signature_def"]
    assert sig["serving_default"]["inputs"]["input"]["shape"] == [-1, 8, 8, 1]
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v2/models/{name}/infer" in spec["paths"] and "/v1/models/{name}:predict" in spec["paths"]


# ---- KServe V2 -----------------------------------------------------------------------------------

def test_v2_json_infer_default_and_pinned_version(client, x4):
    r = client.post("/v2/models/mlp/infer", json={"id": "r1", **v2_body(x4)})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model_name"] == "mlp" and doc["model_version"] == "2" and doc["id"] == "r1"
    out = doc["outputs"][0]
    assert out["name"] == "output" and out["datatype"] == "FP32" and out["shape"] == [3, 3]
    np.testing.assert_allclose(np.reshape(out["data"], (3, 3)), mlp_out(2, x4), rtol=1e-5, atol=1e-6)
    r1 = client.post("/v2/models/mlp/versions/1/infer", json=v2_body(x4)).json()
    assert r1["model_version"] == "1"
    np.testing.assert_allclose(np.reshape(r1["outputs"][0]["data"], (3, 3)), mlp_out(1, x4), rtol=1e-5,
                               atol=1e-6)
    nested = dict(v2_body(x4)["inputs"][0], data=x4.tolist())
    r2 = client.post("/v2/models/mlp/infer", json={"inputs": [nested]})
    assert r2.status_code == 200 and r2.json()["outputs"][0]["data"] == doc["outputs"][0]["data"]


def test_v2_binary_extension_by_hand(client, x4):
    head = json.dumps({"inputs": [{"name": "input", "shape": [3, 4], "datatype": "FP32",
                                   "parameters": {"binary_data_size": x4.nbytes}}],
                       "outputs": [{"name": "output", "parameters": {"binary_data": True}}]}).encode()
    r = client.post("/v2/models/mlp/infer", content=head + x4.tobytes(),
                    headers={"Inference-Header-Content-Length": str(len(head)),
                             "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    doc = json.loads(r.content[:n])
    size = doc["outputs"][0]["parameters"]["binary_data_size"]
    out = np.frombuffer(r.content[n:n + size], np.float32).reshape(doc["outputs"][0]["shape"])
    np.testing.assert_allclose(out, mlp_out(2, x4), rtol=1e-5, atol=1e-6)


def test_tritonclient_http_json_and_binary(server, x4):
    require("tritonclient.http")
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready("mlp")
    assert c.get_model_metadata("mlp")["inputs"][0]["shape"] == [-1, 4]
    assert c.get_server_metadata()["name"] == "shendu"
    want = mlp_out(2, x4)
    for binary_in in (False, True):
        for binary_out in (False, True, None):
            inp = httpclient.InferInput("input", list(x4.shape), "FP32")
            inp.set_data_from_numpy(x4, binary_data=binary_in)
            outputs = None if binary_out is None else [httpclient.InferRequestedOutput("output",
                                                                                      binary_data=binary_out)]
            res = c.infer("mlp", [inp], outputs=outputs, request_id="7")
            np.testing.assert_allclose(res.as_numpy("output"), want, rtol=1e-5, atol=1e-6)
            assert res.get_response()["id"] == "7"
    res = c.infer("mlp", [inp], model_version="1")
    np.testing.assert_allclose(res.as_numpy("output"), mlp_out(1, x4), rtol=1e-5, atol=1e-6)
    bad = httpclient.InferInput("input", [3, 4], "FP64")
    bad.set_data_from_numpy(x4.astype(np.float64))
    with pytest.raises(InferenceServerException, match="datatype FP64"):
        c.infer("mlp", [bad])
    with pytest.raises(InferenceServerException, match="unknown model"):
        c.infer("nope", [inp])
    c.close()


# ---- TF Serving, /predict, classify --------------------------------------------------------------

def test_tf_serving_predict_rows_and_columns(client, x4):
    r = client.post("/v1/models/mlp:predict", json={"instances": x4.tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], mlp_out(2, x4), rtol=1e-5, atol=1e-6)
    r = client.post("/v1/models/mlp/versions/1:predict", json={"inputs": x4.tolist()})
    np.testing.assert_allclose(r.json()["outputs"], mlp_out(1, x4), rtol=1e-5, atol=1e-6)
    r = client.post("/v1/models/mlp:predict", json={"inputs": {"input": x4.tolist()}})
    assert r.status_code == 200


def test_tutorial_predict_route(client, x4):
    # one model per server is the tutorial's case; with several, ?model= says which
    r = client.post("/predict?model=mlp", json={"data": x4.tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], mlp_out(2, x4), rtol=1e-5, atol=1e-6)
    one = client.post("/predict?model=mlp", json={"data": x4[0].tolist()}).json()["predictions"]
    np.testing.assert_allclose(one, mlp_out(2, x4[:1]), rtol=1e-5, atol=1e-6)
    r = client.post("/predict", json={"data": x4.tolist()})
    assert r.status_code == 400 and "?model=" in r.json()["error"]


def test_classify_gives_class_names_and_probabilities(client):
    x = np.random.default_rng(1).random((2, 8, 8, 1)).astype(np.float32)
    r = client.post("/v1/models/cnn:classify", json={"instances": x.tolist(), "top_k": 2})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == 2 and all(len(row) == 2 for row in results)
    assert all(label in ("circle", "square", "cross") for row in results for label, _ in row)
    assert all(row[0][1] >= row[1][1] for row in results)
    full = client.post("/v1/models/cnn:classify", json={"instances": x.tolist()}).json()["results"]
    assert all(abs(sum(p for _, p in row) - 1) < 1e-5 for row in full)
    # logits are turned into probabilities
    r = client.post("/v1/models/mlp:classify", json={"instances": [[1, 2, 3, 4]]}).json()["results"][0]
    assert abs(sum(p for _, p in r) - 1) < 1e-6 and [c for c, _ in r] != []


def _png(size=(20, 20), mode="L", fmt="PNG"):
    from PIL import Image

    img = Image.fromarray((np.arange(size[0] * size[1]) % 256).astype(np.uint8).reshape(size)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_image_upload_png_jpeg_and_multipart(client):
    require("PIL")
    from PIL import Image

    import shendu as sd

    png = _png()
    r = client.post("/models/cnn/image", content=png, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert len(doc["predictions"][0]) == 3 and doc["classes"][0][0] in ("circle", "square", "cross")
    # the same preprocessing by hand: grey, resized to 8x8, scaled to [0, 1]
    img = Image.open(io.BytesIO(png)).convert("L").resize((8, 8), Image.BILINEAR)
    x = (np.asarray(img, np.float32) / 255)[None, :, :, None]
    with sd.no_grad():
        want = make_cnn()(sd.tensor(x)).numpy()
    np.testing.assert_allclose(doc["predictions"], want, rtol=1e-4, atol=1e-5)
    r = client.post("/models/cnn/image?top_k=1", files={"file": ("x.jpg", _png(mode="RGB", fmt="JPEG"),
                                                                  "image/jpeg")})
    assert r.status_code == 200 and len(r.json()["classes"]) == 1


# ---- bad input: every case gets a 4xx naming the problem, and the server stays up --------------------

def _bin_request(x, size=None, header=None):
    head = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "parameters": {"binary_data_size": x.nbytes if size is None else size}}]})
    head = head.encode()
    return {"content": head + x.tobytes(),
            "headers": {"Inference-Header-Content-Length": str(len(head) if header is None else header)}}


_X = np.ones((2, 4), np.float32)
BAD = [
    ("wrong shape", "/v2/models/mlp/infer", {"json": v2_body(np.ones((2, 5), np.float32))}, 400, "wrong shape"),
    ("wrong rank", "/v1/models/mlp:predict", {"json": {"instances": [[[1, 2, 3, 4]]]}}, 400, "wrong shape"),
    ("wrong dtype", "/v2/models/mlp/infer", {"json": v2_body(_X, datatype="INT64")}, 400, "wrong datatype"),
    ("unknown dtype", "/v2/models/mlp/infer", {"json": v2_body(_X, datatype="FLOAT")}, 400, "unknown datatype"),
    ("strings", "/v1/models/mlp:predict", {"json": {"instances": [["a", "b", "c", "d"]]}}, 400, "strings"),
    ("booleans", "/predict?model=mlp", {"json": {"data": [[True, False, True, False]]}}, 400, "true/false"),
    ("null", "/predict?model=mlp", {"json": {"data": [[1, None, 3, 4]]}}, 400, "null"),
    ("NaN json", "/predict?model=mlp", {"content": b'{"data": [[NaN, 1, 2, 3]]}'}, 400, "NaN"),
    ("Inf json", "/v1/models/mlp:predict", {"content": b'{"instances": [[Infinity, 1, 2, 3]]}'}, 400, "infinite"),
    ("NaN binary", "/v2/models/mlp/infer", _bin_request(np.full((2, 4), np.nan, np.float32)), 400, "NaN"),
    ("empty batch", "/v2/models/mlp/infer", {"json": v2_body(np.ones((0, 4), np.float32))}, 400, "empty"),
    ("empty instances", "/v1/models/mlp:predict", {"json": {"instances": []}}, 400, "empty"),
    ("empty data", "/predict?model=mlp", {"json": {"data": []}}, 400, "empty"),
    ("ragged", "/predict?model=mlp", {"json": {"data": [[1, 2, 3, 4], [1, 2]]}}, 400, "ragged"),
    ("ragged v2", "/v2/models/mlp/infer",
     {"json": {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [[1, 2, 3, 4], [1]]}]}},
     400, "ragged"),
    ("count mismatch", "/v2/models/mlp/infer",
     {"json": {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3]}]}},
     400, "needs 8"),
    ("unknown input", "/v2/models/mlp/infer", {"json": v2_body(_X, name="x")}, 400, "unknown input"),
    ("unknown output", "/v2/models/mlp/infer", {"json": {**v2_body(_X), "outputs": [{"name": "y"}]}}, 400,
     "unknown output"),
    ("no inputs", "/v2/models/mlp/infer", {"json": {"inputs": []}}, 400, "inputs"),
    ("not json", "/v2/models/mlp/infer", {"content": b"{nope"}, 400, "not valid JSON"),
    ("json array", "/predict?model=mlp", {"content": b"[1, 2]"}, 400, "JSON object"),
    ("empty body", "/v1/models/mlp:predict", {"content": b""}, 400, "empty"),
    ("no data key", "/predict?model=mlp", {"json": {"x": [1]}}, 400, "'data'"),
    ("both keys", "/v1/models/mlp:predict", {"json": {"instances": [[1, 2, 3, 4]], "inputs": [[1]]}}, 400,
     "exactly one"),
    ("binary size", "/v2/models/mlp/infer", _bin_request(_X, size=7), 400, "binary_data_size"),
    ("header length", "/v2/models/mlp/infer", _bin_request(_X, header="abc"), 400,
     "Inference-Header-Content-Length"),
    ("truncated binary", "/v2/models/mlp/infer", {**_bin_request(_X), "content": _bin_request(_X)["content"][:-4]},
     400, "binary"),
    ("unknown model", "/v2/models/nope/infer", {"json": v2_body(_X)}, 404, "unknown model 'nope'"),
    ("unknown model tf", "/v1/models/nope:predict", {"json": {"instances": [[1, 2, 3, 4]]}}, 404, "unknown model"),
    ("unknown version", "/v2/models/mlp/versions/9/infer", {"json": v2_body(_X)}, 404, "no version '9'"),
    ("unknown version tf", "/v1/models/mlp/versions/9:predict", {"json": {"instances": [[1, 2, 3, 4]]}}, 404,
     "no version"),
    ("not an image", "/models/cnn/image", {"content": b"this is not a png", "headers": {"Content-Type": "image/png"}},
     400, "not an image"),
    ("truncated png", "/models/cnn/image", {"content": None, "headers": {"Content-Type": "image/png"}}, 400,
     "image"),
    ("gif", "/models/cnn/image", {"content": None, "headers": {"Content-Type": "image/gif"}}, 415, "GIF"),
    ("image to mlp", "/models/mlp/image", {"content": None, "headers": {"Content-Type": "image/png"}}, 400,
     "does not take images"),
    ("form without file", "/models/cnn/image", {"files": {"other": ("a.png", b"x", "image/png")}}, 400, "'file'"),
    ("bad top_k", "/v1/models/cnn:classify", {"json": {"instances": [[[[0]] * 8] * 8], "top_k": 0}}, 400, "top_k"),
    ("not a classifier input", "/v1/models/cnn:classify", {"json": {"instances": [[1, 2]]}}, 400, "wrong shape"),
    ("bad gzip", "/v1/models/mlp:predict", {"content": b"not gzip", "headers": {"Content-Encoding": "gzip"}}, 400,
     "gzip"),
    ("unknown encoding", "/v1/models/mlp:predict", {"content": b"{}", "headers": {"Content-Encoding": "br"}}, 415,
     "Content-Encoding"),
    ("deep json", "/predict?model=mlp", {"content": b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"}, 400,
     "deeply"),
    ("65 axes", "/predict?model=mlp", {"content": b'{"data": ' + b"[" * 65 + b"1" + b"]" * 65 + b"}"}, 400,
     "64 axes"),
    ("too large", "/v2/models/mlp/infer", {"content": b" " * (10 * 1024 * 1024 + 1)}, 413, "limit"),
]


def _fill(case):
    name, path, kwargs, status, words = case
    kwargs = dict(kwargs)
    if kwargs.get("content", 0) is None:
        require("PIL")
        kwargs["content"] = {"truncated png": _png()[:40], "gif": _png(fmt="GIF"), "image to mlp": _png()}[name]
    return path, kwargs, status, words


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gets_4xx_naming_the_problem(client, case):
    path, kwargs, status, words = _fill(case)
    r = client.post(path, **kwargs)
    assert r.status_code == status, r.text
    assert words.lower() in r.json()["error"].lower(), r.json()
    assert client.get("/v2/health/live").status_code == 200


def test_chunked_body_above_the_limit_is_413(client):
    def chunks():
        for _ in range(11):
            yield b" " * (1024 * 1024)

    r = client.post("/v2/models/mlp/infer", content=chunks())
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert client.get("/v2/health/live").status_code == 200


def test_gzip_request_body(client, x4):
    import gzip

    r = client.post("/v1/models/mlp:predict", content=gzip.compress(json.dumps({"instances": x4.tolist()}).encode()),
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["predictions"], mlp_out(2, x4), rtol=1e-5, atol=1e-6)


# ---- load and metrics ------------------------------------------------------------------------------

def _metric(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _keepalive_client(port, requests, answers):
    """One client on one keep-alive connection, sending its requests back to back (raw HTTP/1.1)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, body in requests:
            writer.write(b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            answers[i] = (int(head.split(b" ", 2)[1]), await reader.readexactly(length))
    finally:
        writer.close()


def test_load_2000_requests_32_concurrent_zero_errors_and_batching(server):
    n = 2000
    import httpx

    before = httpx.get(server.url + "/metrics").text
    xs = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    bodies = [(i, json.dumps(v2_body(xs[i:i + 1])).encode()) for i in range(n)]
    answers = {}

    async def main():
        await asyncio.gather(*[_keepalive_client(server.port, bodies[k::32], answers) for k in range(32)])

    asyncio.run(main())
    errors = [(i, a) for i, a in answers.items() if a[0] != 200]
    assert errors == [] and len(answers) == n
    got = np.array([json.loads(answers[i][1])["outputs"][0]["data"] for i in range(n)])
    np.testing.assert_allclose(got, mlp_out(2, xs), rtol=1e-4, atol=1e-5)
    after = httpx.get(server.url + "/metrics").text
    labels = {"model": "mlp", "version": "2"}

    def delta(name):
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert delta("shendu_inference_request_success_total") == n
    assert delta("shendu_inference_count_total") == n
    assert delta("shendu_inference_exec_count_total") < n  # requests shared batches


def test_metrics_exposition(client, x4):
    client.post("/v2/models/mlp/infer", json=v2_body(x4))
    client.post("/v2/models/mlp/infer", json=v2_body(x4, datatype="INT8"))
    text = client.get("/metrics").text
    for name in ("shendu_inference_request_success_total", "shendu_inference_request_failure_total",
                 "shendu_inference_count_total", "shendu_inference_exec_count_total",
                 "shendu_inference_queue_duration_seconds_bucket", "shendu_inference_compute_duration_seconds_bucket",
                 "shendu_inference_batch_size_bucket", "shendu_http_requests_total"):
        assert re.search(rf"^{name}\{{", text, re.M), name
    assert _metric(text, "shendu_inference_request_failure_total", model="mlp", reason="BadRequest") >= 1
    assert 'route="/v2/models/{name}/infer"' in text


def test_single_model_file_binds_localhost_and_predict_needs_no_model_name(tmp_path, x4):
    import httpx

    import shendu as sd

    sd.save(make_mlp(2), tmp_path / "m.safetensors")
    s = start_server(tmp_path / "m.safetensors", "--name", "tiny", "--max-batch-size", "4")
    try:
        r = httpx.post(s.url + "/predict", json={"data": x4.tolist()})
        assert r.status_code == 200
        np.testing.assert_allclose(r.json()["predictions"], mlp_out(2, x4), rtol=1e-5, atol=1e-6)
        assert httpx.get(s.url + "/v2/models/tiny").json()["name"] == "tiny"
        big = np.ones((9, 4), np.float32)  # more than --max-batch-size: runs whole, never split
        r = httpx.post(s.url + "/v2/models/tiny/infer", json=v2_body(big))
        assert r.status_code == 200 and r.json()["outputs"][0]["shape"] == [9, 3]
    finally:
        stop_server(s)
    out = s.proc.stdout.read()
    assert "http://127.0.0.1:" in out


@pytest.mark.slow
def test_workers_processes_serve_the_same_model(tmp_path, x4):
    import httpx

    import shendu as sd

    sd.save(make_mlp(2), tmp_path / "m.safetensors")
    s = start_server(tmp_path / "m.safetensors", "--workers", "2", timeout=120)
    try:
        for _ in range(8):
            r = httpx.post(s.url + "/predict", json={"data": x4.tolist()})
            assert r.status_code == 200
            np.testing.assert_allclose(r.json()["predictions"], mlp_out(2, x4), rtol=1e-5, atol=1e-6)
    finally:
        stop_server(s)
