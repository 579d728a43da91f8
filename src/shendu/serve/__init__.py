"""``shendu.serve``: a prediction server that speaks the protocols existing clients already speak.

- the Open Inference Protocol (KServe V2; Triton, KServe, MLServer, Seldon): ``/v2/...``, JSON and the
  binary tensor extension, so ``tritonclient.http`` works unmodified;
- TF Serving's REST API: ``POST /v1/models/{name}:predict`` and ``:classify``;
- the tutorial's ``POST /predict`` with ``{"data": ...}`` and an image upload endpoint;
- dynamic batching off the event loop, Prometheus ``/metrics``, OpenAPI docs at ``/docs``.

``create_app(models)`` builds the FastAPI app; ``serve(path)`` (and ``shendu serve PATH``) runs it under
uvicorn on 127.0.0.1. FastAPI, uvicorn and prometheus_client (``pip install 'shendu[serve]'``) are imported
only when an app is built. See docs/serving.md.
"""
from ._errors import BadRequest, ModelLoadError, NotFound, PayloadTooLarge, ServeError, UnsupportedMediaType
from ._repository import Repository, ServedModel, TensorSpec, load_file, load_repository


def create_app(models, name=None, max_batch_size=32, max_delay_ms=5.0, eager_batching=True,
               max_body_bytes=10 * 1024 * 1024):
    """The FastAPI app serving ``models``: a model file or folder path, a module, a Repository, or
    ``{name: module}``. See :func:`shendu.serve._app.create_app`."""
    from ._app import create_app as _create

    return _create(models, name=name, max_batch_size=max_batch_size, max_delay_ms=max_delay_ms,
                   eager_batching=eager_batching, max_body_bytes=max_body_bytes)


def serve(models, name=None, host="127.0.0.1", port=8000, workers=1, max_batch_size=32, max_delay_ms=5.0,
          eager_batching=True, max_body_bytes=10 * 1024 * 1024, log_level="info"):
    """Run the server (blocks until stopped). ``workers > 1`` needs ``models`` to be a path: each worker
    process loads the models itself."""
    import json
    import os

    import uvicorn

    if workers > 1:
        if not isinstance(models, (str, os.PathLike)):
            raise ValueError("serve: workers > 1 needs the model given as a file or folder path")
        os.environ["SHENDU_SERVE_CONFIG"] = json.dumps({
            "path": os.path.abspath(os.fspath(models)), "name": name, "max_batch_size": max_batch_size,
            "max_delay_ms": max_delay_ms, "eager_batching": eager_batching, "max_body_bytes": max_body_bytes})
        uvicorn.run("shendu.serve._app:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
        return
    app = create_app(models, name=name, max_batch_size=max_batch_size, max_delay_ms=max_delay_ms,
                     eager_batching=eager_batching, max_body_bytes=max_body_bytes)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
