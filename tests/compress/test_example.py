"""examples/compress_cnn.py runs and each compressed model still classifies."""
import importlib.util
import os

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "compress_cnn.py")


def test_compress_example_runs():
    spec = importlib.util.spec_from_file_location("compress_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results, ratio = module.main("digits", epochs=3, limit=600, verbose=False)
    assert ratio <= 0.35
    assert results["float32"] > 0.5
    assert abs(results["int8"] - results["float32"]) < 0.05
    assert results["50% channels"] > 0.3 and results["80% weights"] > 0.3
