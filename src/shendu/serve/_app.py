"""The FastAPI application: every endpoint, the body limit, error answers and metrics.

``create_app(models, ...)`` builds it; ``shendu serve PATH`` runs it under uvicorn. Handlers are
``async``: they read and decode the body on the event loop (a large one in a worker thread), queue the
arrays in the model's :class:`~shendu.serve._batcher.Batcher` and await the batch, so inference never runs
on the event loop.
"""
import json
import logging
import os
import zlib
from contextlib import asynccontextmanager

from ._batcher import Batcher
from ._codec import (
    HEADER_LENGTH,
    classify,
    decode_image,
    decode_predict,
    decode_tf,
    decode_v2,
    dumps,
    encode_tf,
    encode_v2,
    parse_json,
    parse_top_k,
)
from ._errors import BadRequest, PayloadTooLarge, ServeError, UnsupportedMediaType
from ._metrics import Metrics
from ._repository import DATATYPES, Repository, ServedModel, load_repository

DEFAULT_MAX_BODY = 10 * 1024 * 1024
_LOG = logging.getLogger("shendu.serve")
_OFFLOAD_BYTES = 1 << 20  # bodies above 1 MB are decoded in a worker thread


# ---- the body limit, as ASGI middleware (it also counts requests per route) ------------------------

class _TooLarge(Exception):
    pass


class _Guard:
    """Refuses bodies above ``limit`` bytes with 413 (by Content-Length, or while reading a chunked body)
    and counts every answer by method, route template and status."""

    def __init__(self, app, limit, metrics):
        self.app, self.limit, self.metrics = app, limit, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"read": 0, "status": None}
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(send, int(length))
            self._count(scope, 413)
            return

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > self.limit:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if state["status"] is None:
                await self._refuse(send, state["read"])
                state["status"] = 413
        self._count(scope, state["status"] or 500)

    async def _refuse(self, send, size):
        body = dumps({"error": f"the request body is larger than this server's limit of {self.limit:,} bytes "
                               f"(got {size:,}+); send smaller batches or start the server with a larger "
                               "--max-body-mb"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _count(self, scope, status):
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.http.labels(scope.get("method", ""), path, str(status)).inc()


# ---- request schemas for the OpenAPI document ------------------------------------------------------

_TENSOR = {"type": "object", "required": ["name", "shape", "datatype"],
           "properties": {"name": {"type": "string"},
                          "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                          "datatype": {"type": "string", "enum": [*DATATYPES, "BYTES"]},
                          "parameters": {"type": "object"},
                          "data": {"type": "array", "description": "row-major values (flat or nested)"}}}
_V2 = {"type": "object", "required": ["inputs"],
       "properties": {"id": {"type": "string"}, "parameters": {"type": "object"},
                      "inputs": {"type": "array", "items": _TENSOR},
                      "outputs": {"type": "array", "items": {
                          "type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}}}},
       "example": {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                               "data": [0.1, 0.2, 0.3, 0.4]}]}}
_TF = {"type": "object",
       "properties": {"signature_name": {"type": "string"}, "instances": {"type": "array"},
                      "inputs": {}, "top_k": {"type": "integer", "minimum": 1}},
       "example": {"instances": [[0.1, 0.2, 0.3, 0.4]]}}
_PREDICT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "array"}},
            "example": {"data": [[0.1, 0.2, 0.3, 0.4]]}}


def _body(schema, binary=False):
    content = {"application/json": {"schema": schema}}
    if binary:
        content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": content}}


_IMAGE_BODY = {"requestBody": {"required": True, "content": {
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
_ERRORS = {s: {"description": d, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}}}}}
    for s, d in ((400, "Bad input (named in 'error')"), (404, "Unknown model or version"),
                 (413, "Body above the limit"))}


# ---- the app ----------------------------------------------------------------------------------------

def as_repository(models, name=None):
    """A :class:`Repository` from a path, a Repository, a ServedModel, a module, or {name: module}."""
    if isinstance(models, Repository):
        return models
    if isinstance(models, (str, os.PathLike)):
        return load_repository(os.fspath(models), name)
    if isinstance(models, ServedModel):
        return Repository([models])
    if isinstance(models, dict):
        return Repository([m if isinstance(m, ServedModel) else ServedModel(n, "1", m, "shendu_module")
                           for n, m in models.items()])
    if isinstance(models, (list, tuple)):
        return Repository(models)
    from ._repository import _guess_inputs

    channels_last = type(models).__module__.startswith("shendu.keras")
    inputs = _guess_inputs(models, channels_last)
    if channels_last and isinstance(getattr(models, "input_shape", None), tuple):
        from ._repository import TensorSpec

        inputs = [TensorSpec("input", inputs[0].datatype, models.input_shape)]
    return Repository([ServedModel(name or "model", "1", models,
                                   "shendu_keras" if channels_last else "shendu_module", inputs=inputs)])


def create_app(models, name=None, max_batch_size=32, max_delay_ms=5.0, eager_batching=True,
               max_body_bytes=DEFAULT_MAX_BODY):
    """The FastAPI app serving ``models`` (a path, a module, a Repository, ...; see :func:`as_repository`).

    ``max_batch_size`` samples per batch, ``max_delay_ms`` the longest a request waits for its batch to
    fill (from the first queued request), ``eager_batching`` runs a batch as soon as no other request is
    on its way, ``max_body_bytes`` refuses larger bodies with 413.
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, RedirectResponse, Response
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    from .. import __version__

    repo = as_repository(models, name)
    metrics = Metrics(max_batch_size)
    batchers = {(m.name, m.version): Batcher(m, max_batch_size, max_delay_ms, eager_batching, metrics)
                for m in repo}

    @asynccontextmanager
    async def lifespan(app):
        for b in batchers.values():
            b.start()
        yield
        for b in batchers.values():
            b.stop()

    app = FastAPI(title="shendu model server", version=__version__, lifespan=lifespan,
                  description="Open Inference Protocol (KServe V2, as Triton speaks it), TF Serving REST, "
                              "the tutorial's /predict, classification and image uploads. Errors are "
                              "`{\"error\": \"...\"}` with a 4xx status naming the problem.")
    app.state.repository, app.state.batchers, app.state.metrics = repo, batchers, metrics
    app.add_middleware(_Guard, limit=int(max_body_bytes), metrics=metrics)

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ServeError)
    async def _serve_error(request, exc):
        return error(exc.status, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no endpoint {request.method} {request.url.path}; see /docs for the endpoints"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}",
                             "detail": json.loads(json.dumps(exc.errors(), default=str))}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # a server bug: logged, answered as JSON
        _LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, f"internal server error ({type(exc).__name__}: {exc})")

    async def read_body(request):
        body = await request.body()
        encoding = request.headers.get("content-encoding", "identity").lower().strip()
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "deflate"):
            raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; use gzip, "
                                       "deflate or none")
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
            out = d.decompress(body, max_body_bytes + 1)
        except zlib.error as exc:
            raise BadRequest(f"the body is not valid {encoding} data ({exc})") from None
        if len(out) > max_body_bytes or d.unconsumed_tail:
            raise PayloadTooLarge(f"the decompressed body is larger than this server's limit of "
                                  f"{max_body_bytes:,} bytes")
        return out

    def json_response(obj, headers=None):
        return Response(dumps(obj), media_type="application/json", headers=headers)

    async def run_model(model, request, decode):
        """Read, decode (off the loop when large), batch and run; failures counted per reason."""
        batcher = batchers[(model.name, model.version)]
        batcher.arriving()
        queued = False
        try:
            body = await read_body(request)
            if len(body) > _OFFLOAD_BYTES:
                arrays, ctx = await run_in_threadpool(decode, body, request, model)
            else:
                arrays, ctx = decode(body, request, model)
            queued = True
            results = await batcher.submit(arrays, counted=True)
        except ServeError as exc:
            metrics.refused(model, type(exc).__name__)
            raise
        finally:
            if not queued:
                batcher.abandoned()
        metrics.answered(model)
        return results, ctx

    # ---- server-level endpoints -----------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index():
        return RedirectResponse("/docs")

    @app.get("/v2", tags=["KServe V2"], summary="Server metadata")
    async def server_metadata():
        return {"name": "shendu", "version": __version__,
                "extensions": ["binary_tensor_data", "model_repository", "classification"]}

    @app.get("/v2/health/live", tags=["KServe V2"], summary="Liveness")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready", tags=["KServe V2"], summary="Readiness (all models loaded)")
    async def ready():
        return {"ready": True}

    @app.post("/v2/repository/index", tags=["KServe V2"], summary="Every model version and its state")
    async def repository_index():
        return [{"name": m.name, "version": m.version, "state": "READY"} for m in repo]

    @app.get("/metrics", tags=["Monitoring"], summary="Prometheus metrics")
    async def prometheus():
        body, content_type = metrics.render()
        return Response(body, media_type=content_type.split(";")[0],
                        headers={"Content-Type": content_type})

    # ---- model metadata -------------------------------------------------------------------------
    def model_metadata(name, version=None):
        m = repo.get(name, version)
        return m.metadata_json(repo.versions(m.name))

    @app.get("/v2/models/{name}", tags=["KServe V2"], summary="Model metadata", responses=_ERRORS)
    async def v2_model(name: str):
        return model_metadata(name)

    @app.get("/v2/models/{name}/versions/{version}", tags=["KServe V2"], summary="Model version metadata",
             responses=_ERRORS)
    async def v2_model_version(name: str, version: str):
        return model_metadata(name, version)

    @app.get("/v2/models/{name}/ready", tags=["KServe V2"], summary="Model readiness", responses=_ERRORS)
    async def v2_model_ready(name: str):
        repo.get(name)
        return {"name": name, "ready": True}

    @app.get("/v2/models/{name}/versions/{version}/ready", tags=["KServe V2"],
             summary="Model version readiness", responses=_ERRORS)
    async def v2_model_version_ready(name: str, version: str):
        m = repo.get(name, version)
        return {"name": name, "version": m.version, "ready": True}

    def model_config(name, version=None):
        m = repo.get(name, version)
        return {"name": m.name, "platform": m.platform, "max_batch_size": max_batch_size,
                "input": [s.to_json() for s in m.inputs], "output": [s.to_json() for s in m.outputs],
                "dynamic_batching": {"max_queue_delay_microseconds": int(max_delay_ms * 1000),
                                     "eager": eager_batching},
                "class_names": m.class_names, "image": m.image}

    @app.get("/v2/models/{name}/config", tags=["KServe V2"], summary="Model configuration",
             responses=_ERRORS)
    async def v2_model_config(name: str):
        return model_config(name)

    @app.get("/v2/models/{name}/versions/{version}/config", tags=["KServe V2"],
             summary="Model version configuration", responses=_ERRORS)
    async def v2_model_version_config(name: str, version: str):
        return model_config(name, version)

    # ---- KServe V2 inference ----------------------------------------------------------------------
    def v2_decode(body, request, model):
        req = decode_v2(body, request.headers.get(HEADER_LENGTH), model)
        return req.arrays, req

    async def v2_infer_common(name, version, request):
        model = repo.get(name, version)
        results, req = await run_model(model, request, v2_decode)
        body, headers = encode_v2(model, req, results)
        media = "application/octet-stream" if headers else "application/json"
        return Response(body, media_type=media, headers=headers)

    @app.post("/v2/models/{name}/infer", tags=["KServe V2"], summary="Inference (JSON or binary tensors)",
              openapi_extra=_body(_V2, binary=True), responses=_ERRORS)
    async def v2_infer(name: str, request: Request):
        return await v2_infer_common(name, None, request)

    @app.post("/v2/models/{name}/versions/{version}/infer", tags=["KServe V2"],
              summary="Inference on one version", openapi_extra=_body(_V2, binary=True), responses=_ERRORS)
    async def v2_infer_version(name: str, version: str, request: Request):
        return await v2_infer_common(name, version, request)

    # ---- TF Serving -----------------------------------------------------------------------------
    def tf_status(name, version=None):
        m = repo.get(name, version)
        versions = [m.version] if version is not None else repo.versions(m.name)
        return {"model_version_status": [{"version": v, "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}
                                         for v in versions]}

    @app.get("/v1/models/{name}", tags=["TF Serving"], summary="Model status", responses=_ERRORS)
    async def tf_model(name: str):
        return tf_status(name)

    @app.get("/v1/models/{name}/versions/{version}", tags=["TF Serving"], summary="Model version status",
             responses=_ERRORS)
    async def tf_model_version(name: str, version: str):
        return tf_status(name, version)

    def tf_metadata(name, version=None):
        m = repo.get(name, version)
        return {"model_spec": {"name": m.name, "version": m.version, "signature_name": "serving_default"},
                "metadata": {"signature_def": {"signature_def": {"serving_default": {
                    "inputs": {s.name: s.to_json() for s in m.inputs},
                    "outputs": {s.name: s.to_json() for s in m.outputs},
                    "method_name": "tensorflow/serving/predict"}}}}}

    @app.get("/v1/models/{name}/metadata", tags=["TF Serving"], summary="Model signature", responses=_ERRORS)
    async def tf_model_metadata(name: str):
        return tf_metadata(name)

    @app.get("/v1/models/{name}/versions/{version}/metadata", tags=["TF Serving"],
             summary="Model version signature", responses=_ERRORS)
    async def tf_model_version_metadata(name: str, version: str):
        return tf_metadata(name, version)

    def tf_decode(body, request, model):
        obj = parse_json(body)
        arrays, rows = decode_tf(obj, model)
        return arrays, (rows, obj)

    async def tf_predict_common(name, version, request):
        model = repo.get(name, version)
        results, (rows, _) = await run_model(model, request, tf_decode)
        return json_response(encode_tf(model, results, rows))

    @app.post("/v1/models/{name}:predict", tags=["TF Serving"], summary="Predict (instances or inputs)",
              openapi_extra=_body(_TF), responses=_ERRORS)
    async def tf_predict(name: str, request: Request):
        return await tf_predict_common(name, None, request)

    @app.post("/v1/models/{name}/versions/{version}:predict", tags=["TF Serving"],
              summary="Predict with one version", openapi_extra=_body(_TF), responses=_ERRORS)
    async def tf_predict_version(name: str, version: str, request: Request):
        return await tf_predict_common(name, version, request)

    async def tf_classify_common(name, version, request):
        model = repo.get(name, version)

        def decode(body, req, m):
            obj = parse_json(body)
            top_k = parse_top_k(obj.get("top_k"))
            arrays, _ = decode_tf(obj, m)
            return arrays, top_k

        results, top_k = await run_model(model, request, decode)
        return json_response({"results": classify(model, results[0], top_k)})

    @app.post("/v1/models/{name}:classify", tags=["TF Serving"],
              summary="Class names and probabilities, best first", openapi_extra=_body(_TF),
              responses=_ERRORS)
    async def tf_classify(name: str, request: Request):
        return await tf_classify_common(name, None, request)

    @app.post("/v1/models/{name}/versions/{version}:classify", tags=["TF Serving"],
              summary="Classify with one version", openapi_extra=_body(_TF), responses=_ERRORS)
    async def tf_classify_version(name: str, version: str, request: Request):
        return await tf_classify_common(name, version, request)

    # ---- the tutorial's /predict and image uploads ------------------------------------------------
    def default_model(model_name, version):
        if model_name:
            return repo.get(model_name, version)
        if len(repo) != 1:
            raise BadRequest(f"this server holds {len(repo)} models; say which with ?model=NAME (one of "
                             f"{', '.join(repo.names)})")
        return repo.get(repo.names[0], version)

    def predict_decode(body, request, model):
        return decode_predict(parse_json(body), model), None

    @app.post("/predict", tags=["Tutorial"], summary="{\"data\": samples} -> {\"predictions\": ...}",
              openapi_extra=_body(_PREDICT), responses=_ERRORS)
    async def predict(request: Request, model: str | None = None, version: str | None = None):
        m = default_model(model, version)
        results, _ = await run_model(m, request, predict_decode)
        out = results[0] if len(results) == 1 else results
        from ._codec import _finite_list

        return json_response({"predictions": _finite_list(out) if len(results) == 1 else
                              [_finite_list(r) for r in out]})

    async def image_common(m, request, top_k):
        async def upload():
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("multipart/form-data"):
                try:
                    form = await request.form()
                except Exception as exc:  # noqa: BLE001 - malformed multipart
                    raise BadRequest(f"the multipart form cannot be read ({exc})") from None
                f = form.get("file")
                if f is None or not hasattr(f, "read"):
                    raise BadRequest("the form needs a 'file' field holding the image")
                return await f.read()
            return await read_body(request)

        batcher = batchers[(m.name, m.version)]
        batcher.arriving()
        queued = False
        try:
            data = await upload()
            arrays = await run_in_threadpool(decode_image, data, m)
            queued = True
            results = await batcher.submit(arrays, counted=True)
        except ServeError as exc:
            metrics.refused(m, type(exc).__name__)
            raise
        finally:
            if not queued:
                batcher.abandoned()
        metrics.answered(m)
        out = {"predictions": results[0].tolist()}
        if m.is_classifier:
            try:
                out["classes"] = classify(m, results[0], top_k or 5)[0]
            except BadRequest:
                pass
        return json_response(out)

    def top_k_query(top_k):
        if top_k is None:
            return None
        if not top_k.isdigit() or int(top_k) < 1:
            raise BadRequest(f"top_k must be a whole number of at least 1, got {top_k!r:.40}")
        return int(top_k)

    @app.post("/models/{name}/image", tags=["Images"], summary="Upload a PNG/JPEG image and classify it",
              openapi_extra=_IMAGE_BODY, responses=_ERRORS)
    async def image(name: str, request: Request, top_k: str | None = None):
        return await image_common(repo.get(name), request, top_k_query(top_k))

    @app.post("/models/{name}/versions/{version}/image", tags=["Images"], summary="Image upload, one version",
              openapi_extra=_IMAGE_BODY, responses=_ERRORS)
    async def image_version(name: str, version: str, request: Request, top_k: str | None = None):
        return await image_common(repo.get(name, version), request, top_k_query(top_k))

    @app.post("/predict/image", tags=["Images"], summary="Image upload to the server's only model",
              openapi_extra=_IMAGE_BODY, responses=_ERRORS)
    async def predict_image(request: Request, model: str | None = None, version: str | None = None,
                            top_k: str | None = None):
        return await image_common(default_model(model, version), request, top_k_query(top_k))

    def openapi():
        """The OpenAPI document, with the served model names and versions as the allowed values."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes)
            versions = sorted({m.version for m in repo})
            for ops in doc.get("paths", {}).values():
                for op in ops.values():
                    for param in op.get("parameters", []):
                        if param.get("name") in ("name", "model"):
                            param["schema"] = {"type": "string", "enum": repo.names,
                                               "description": "a served model"}
                        elif param.get("name") == "version":
                            param["schema"] = {"type": "string", "enum": versions,
                                               "description": "a model version (default: the highest)"}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi

    # the inference routes are matched first: the router tries routes in order, on every request
    hot = ("/v2/models/{name}/infer", "/predict", "/v1/models/{name}:predict",
           "/v2/models/{name}/versions/{version}/infer")
    app.router.routes.sort(key=lambda r: hot.index(r.path) if getattr(r, "path", None) in hot else len(hot))
    return app


def app_from_environment():
    """The app described by ``SHENDU_SERVE_CONFIG`` (JSON written by ``shendu serve`` for ``--workers``)."""
    from . import limit_blas_threads, tune_thread_switching

    tune_thread_switching()

    cfg = json.loads(os.environ["SHENDU_SERVE_CONFIG"])
    if cfg.get("blas_threads"):
        limit_blas_threads(cfg["blas_threads"])
    return create_app(cfg["path"], name=cfg.get("name"), max_batch_size=cfg["max_batch_size"],
                      max_delay_ms=cfg["max_delay_ms"], eager_batching=cfg["eager_batching"],
                      max_body_bytes=cfg["max_body_bytes"])
