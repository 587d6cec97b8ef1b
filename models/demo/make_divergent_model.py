"""Writes models/demo/sample-mlp-divergent.onnx: the sample MLP with its output bias pushed
towards class 0, so its predictions disagree with the original on part of the traffic. The
demo releases it as a bad v3 that the canary analysis must roll back.

usage: make_divergent_model.py [--out PATH]
"""
import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "sample-mlp-divergent.onnx"))
    args = parser.parse_args()
    model = onnx.load(str(HERE.parent / "sample" / "sample-mlp.onnx"))
    for i, init in enumerate(model.graph.initializer):
        if init.name == "b2":
            bias = numpy_helper.to_array(init).copy()
            bias += np.array([5.0, -5.0, 0.0], dtype=np.float32)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(bias, "b2"))
    model.doc_string = "The modelship sample MLP with a shifted output bias: a deliberately bad release for the demo."
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
