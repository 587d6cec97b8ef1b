#!/usr/bin/env python3
"""Generate models/cnn/small-cnn.onnx: a small, deterministic convolutional classifier.

The graph exercises the sliding-window operators of the sandboxed ONNX engine
(plugins/onnx-engine):

    image [batch,1,16,16]
      -> Conv(8 filters, 3x3, strides 2, pads 1)            [batch,8,8,8]
      -> BatchNormalization (inference statistics)
      -> Relu
      -> MaxPool(2x2, strides 1, pads 0 0 1 1)               [batch,8,8,8]
      -> Conv(16 filters, 3x3, group 2, dilations 2, pads 2) [batch,16,8,8]
      -> Relu
      -> GlobalAveragePool                                   [batch,16,1,1]
      -> Flatten                                             [batch,16]
      -> Gemm(16 -> 10, transB)                              [batch,10]
      -> Softmax(axis -1)
    probabilities [batch,10]

The weights are not trained: they are drawn from a seeded numpy generator (He-style
scales, so activations stay in a reasonable range) and the model is only meant for
conformance checks against onnxruntime. No timestamps are written, so re-running the
script yields a byte-identical file.

Usage:
    .venv/bin/python models/cnn/generate.py [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240617
OPSET = 17
IR_VERSION = 8
CLASSES = 10


def build_model() -> onnx.ModelProto:
    rng = np.random.default_rng(SEED)

    def normal(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    w1 = normal((8, 1, 3, 3), 1 * 3 * 3)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    bn_scale = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    bn_bias = (rng.standard_normal(8) * 0.1).astype(np.float32)
    bn_mean = (rng.standard_normal(8) * 0.2).astype(np.float32)
    bn_var = rng.uniform(0.5, 2.0, 8).astype(np.float32)
    w2 = normal((16, 4, 3, 3), 4 * 3 * 3)  # group 2: 8 input channels -> 4 per group
    b2 = (rng.standard_normal(16) * 0.1).astype(np.float32)
    w3 = normal((CLASSES, 16), 16)  # Gemm with transB=1: [out, in]
    b3 = (rng.standard_normal(CLASSES) * 0.1).astype(np.float32)

    initializers = [
        numpy_helper.from_array(w1, "conv1.W"),
        numpy_helper.from_array(b1, "conv1.B"),
        numpy_helper.from_array(bn_scale, "bn1.scale"),
        numpy_helper.from_array(bn_bias, "bn1.B"),
        numpy_helper.from_array(bn_mean, "bn1.mean"),
        numpy_helper.from_array(bn_var, "bn1.var"),
        numpy_helper.from_array(w2, "conv2.W"),
        numpy_helper.from_array(b2, "conv2.B"),
        numpy_helper.from_array(w3, "fc.W"),
        numpy_helper.from_array(b3, "fc.B"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv1.W", "conv1.B"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.scale", "bn1.B", "bn1.mean", "bn1.var"], ["n1"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[1, 1],
                         pads=[0, 0, 1, 1]),
        helper.make_node("Conv", ["p1", "conv2.W", "conv2.B"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.W", "fc.B"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 16, 16])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", CLASSES])],
        initializer=initializers,
        doc_string="image[batch,1,16,16] -> Conv -> BN -> Relu -> MaxPool -> grouped dilated Conv -> Relu "
        "-> GlobalAveragePool -> Flatten -> Gemm -> Softmax -> probabilities[batch,10]",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="modelship-cnn",
        producer_version="1",
        doc_string=(
            "modelship conformance CNN with seeded random (untrained) weights. "
            "Input 'image' float32 [batch, 1, 16, 16]; output 'probabilities' float32 [batch, 10]. "
            "Regenerate deterministically with models/cnn/generate.py."
        ),
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    helper.set_model_props(
        model,
        {
            "input": "image float32 [batch,1,16,16]",
            "output": "probabilities float32 [batch,10]",
            "weights": f"seeded random, seed={SEED}, untrained",
            "generator": "models/cnn/generate.py",
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str] | None = None) -> int:
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "small-cnn.onnx")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out, help=f"output path (default: {default_out})")
    args = parser.parse_args(argv)

    data = build_model().SerializeToString()
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    print(f"wrote {out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
