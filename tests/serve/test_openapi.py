"""schemathesis over the server's OpenAPI document: generated requests to every endpoint, none answered 500."""
import pytest
from serve_fixtures import build_repository

from conftest import require


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    require("fastapi")
    from shendu.serve import create_app

    return create_app(str(build_repository(tmp_path_factory.mktemp("models"))), max_delay_ms=1)


def test_openapi_document_lists_every_endpoint(app):
    spec = app.openapi()
    for path in ("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready",
                 "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer",
                 "/v1/models/{name}:predict", "/v1/models/{name}:classify", "/predict", "/models/{name}/image",
                 "/metrics"):
        assert path in spec["paths"], path
    body = spec["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]
    assert "application/json" in body and "application/octet-stream" in body


@pytest.mark.parametrize("examples", [25, pytest.param(60, marks=pytest.mark.slow)])
def test_schemathesis_finds_no_server_error(app, examples):
    require("schemathesis")
    from hypothesis import HealthCheck, settings
    from schemathesis import openapi
    from schemathesis.checks import not_a_server_error

    schema = openapi.from_asgi("/openapi.json", app)
    failures = []
    operations = list(schema.get_all_operations())
    assert len(operations) > 20

    from hypothesis import given

    def make_check(operation):
        @given(operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  derandomize=True)
        def check(case):
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{operation.method.upper()} {operation.path}: {response.status_code} "
                                f"{response.text[:200]} for {case.body!r:.200}")
            case.validate_response(response, checks=[not_a_server_error])

        return check

    for result in operations:
        make_check(result.ok())()
    assert failures == []
