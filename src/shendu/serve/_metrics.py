"""Prometheus metrics of the server (``GET /metrics``), named after Triton's so dashboards carry over.

``shendu_inference_request_success_total`` / ``_failure_total``: requests answered / refused, per model;
``shendu_inference_count_total``: samples run; ``shendu_inference_exec_count_total``: batches run (average
batch size = inferences / executions); ``shendu_inference_queue_duration_seconds``: time a request waited
for its batch; ``shendu_inference_compute_duration_seconds``: time one batch took in the model;
``shendu_inference_batch_size``: samples per batch; ``shendu_http_requests_total``: every request by route
and status. Each app has its own registry, so several apps in one process do not mix.
"""

_LATENCY = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, max_batch_size=32):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = r = CollectorRegistry(auto_describe=True)
        labels = ("model", "version")
        self.success = Counter("shendu_inference_request_success", "Inference requests answered",
                               labels, registry=r)
        self.failure = Counter("shendu_inference_request_failure", "Inference requests refused or failed",
                               (*labels, "reason"), registry=r)
        self.count = Counter("shendu_inference_count", "Samples run through a model", labels, registry=r)
        self.exec_count = Counter("shendu_inference_exec_count", "Batches run (model executions)",
                                  labels, registry=r)
        self.queue = Histogram("shendu_inference_queue_duration_seconds",
                               "Time a request waited in the batching queue", labels, buckets=_LATENCY,
                               registry=r)
        self.compute = Histogram("shendu_inference_compute_duration_seconds",
                                 "Time one batch took in the model", labels, buckets=_LATENCY, registry=r)
        sizes, b = [], 1
        while b < max_batch_size:
            sizes.append(b)
            b *= 2
        self.batch = Histogram("shendu_inference_batch_size", "Samples per executed batch", labels,
                               buckets=(*sizes, max_batch_size), registry=r)
        self.http = Counter("shendu_http_requests", "HTTP requests by route and status",
                            ("method", "route", "status"), registry=r)

    def queued(self, model, seconds):
        self.queue.labels(model.name, model.version).observe(seconds)

    def executed(self, model, samples, seconds):
        labels = (model.name, model.version)
        self.count.labels(*labels).inc(samples)
        self.exec_count.labels(*labels).inc()
        self.compute.labels(*labels).observe(seconds)
        self.batch.labels(*labels).observe(samples)

    def answered(self, model):
        self.success.labels(model.name, model.version).inc()

    def refused(self, model, reason):
        self.failure.labels(model.name, model.version, reason).inc()

    def render(self):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
