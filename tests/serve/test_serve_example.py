"""examples/serve_digits.py runs end to end: trains, serves, answers every protocol it shows."""
import importlib.util
import os

from conftest import require


def test_serve_digits_example_runs_and_the_served_model_has_learned():
    for module in ("fastapi", "uvicorn", "httpx", "PIL"):
        require(module)
    path = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "serve_digits.py")
    spec = importlib.util.spec_from_file_location("serve_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(epochs=3) > 0.5
