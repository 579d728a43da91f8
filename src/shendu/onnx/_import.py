"""ONNX import (placeholder until the importer lands)."""


def load(path):
    raise NotImplementedError("shendu.onnx.load: ONNX import is not available in this version of shendu")
