"""Runs an ONNX file in onnxruntime for the Rust round-trip tests (crates/train/tests/onnx_roundtrip.rs).

usage: python3 onnx_run.py MODEL.onnx SPEC.json OUT.bin

SPEC.json: {"inputs": [{"name": "input", "dtype": "float32" | "int64", "shape": [...], "file": "x.bin"}]}
with each input's values as raw little-endian bytes in its file. Writes the first output as raw little-endian
float32 to OUT.bin and prints its shape as JSON on stdout. Exits with 3 when onnxruntime cannot be imported.
"""

import json
import sys

try:
    import numpy as np
    import onnxruntime as ort
except Exception as e:  # noqa: BLE001 - any import failure means "not available"
    print(f"onnxruntime unavailable: {e}", file=sys.stderr)
    sys.exit(3)


def main() -> None:
    model, spec_path, out_path = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    feeds = {}
    for inp in spec["inputs"]:
        dtype = {"float32": "<f4", "int64": "<i8"}[inp["dtype"]]
        feeds[inp["name"]] = np.fromfile(inp["file"], dtype=dtype).reshape(inp["shape"])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    declared = sorted(i.name for i in sess.get_inputs())
    if declared != sorted(feeds):
        sys.exit(f"the model declares inputs {declared}, the test feeds {sorted(feeds)}")
    out = sess.run(None, feeds)[0]
    np.ascontiguousarray(out, dtype="<f4").tofile(out_path)
    print(json.dumps(list(out.shape)))


if __name__ == "__main__":
    main()
