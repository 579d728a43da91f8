"""ONNX export (placeholder until the exporter lands)."""


def export(model, args, f, *more, **kwargs):
    raise NotImplementedError("shendu.onnx.export: ONNX export is not available in this version of shendu")


def is_in_onnx_export():
    return False
