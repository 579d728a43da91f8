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


def default_blas_threads():
    """BLAS threads a serving process uses by default: all cores but one, which the event loop needs
    (on a 2-core machine, 1). Multi-threaded BLAS that competes with the event loop for the same cores
    makes every batch many times slower."""
    import os

    return max(1, (os.cpu_count() or 1) - 1)


def limit_blas_threads(n):
    """Limit NumPy's BLAS to ``n`` threads in this process (through threadpoolctl; a no-op without it).
    Returns True when the limit was applied."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=int(n), user_api="blas")
    return True


def tune_thread_switching(seconds=None):
    """Let the event-loop thread and the batcher thread hand the GIL to each other sooner than Python's
    default 5 ms, so a request never waits milliseconds for a thread that is busy elsewhere.
    (``SHENDU_SERVE_SWITCH_INTERVAL`` overrides, in seconds.)"""
    import os
    import sys

    if seconds is None:
        seconds = float(os.environ.get("SHENDU_SERVE_SWITCH_INTERVAL", "0.0005"))
    sys.setswitchinterval(seconds)


def serve(models, name=None, host="127.0.0.1", port=8000, workers=1, max_batch_size=32, max_delay_ms=5.0,
          eager_batching=True, max_body_bytes=10 * 1024 * 1024, log_level="info", blas_threads=None):
    """Run the server (blocks until stopped). ``workers > 1`` needs ``models`` to be a path: each worker
    process loads the models itself. ``blas_threads`` (default :func:`default_blas_threads`) limits
    NumPy's BLAS threads per process."""
    import json
    import os

    import uvicorn

    blas_threads = default_blas_threads() if blas_threads is None else blas_threads
    limit_blas_threads(blas_threads)
    tune_thread_switching()
    if workers > 1:
        if not isinstance(models, (str, os.PathLike)):
            raise ValueError("serve: workers > 1 needs the model given as a file or folder path")
        os.environ["SHENDU_SERVE_CONFIG"] = json.dumps({
            "path": os.path.abspath(os.fspath(models)), "name": name, "max_batch_size": max_batch_size,
            "max_delay_ms": max_delay_ms, "eager_batching": eager_batching, "max_body_bytes": max_body_bytes,
            "blas_threads": blas_threads})
        uvicorn.run("shendu.serve._app:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
        return
    app = create_app(models, name=name, max_batch_size=max_batch_size, max_delay_ms=max_delay_ms,
                     eager_batching=eager_batching, max_body_bytes=max_body_bytes)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
