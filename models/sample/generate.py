#!/usr/bin/env python3
"""Generate models/sample/sample-mlp.onnx: a small, really-trained, deterministic classifier.

The model is an MLP 4 -> 16 (ReLU) -> 3 (softmax) trained with plain numpy
full-batch gradient descent on softmax cross-entropy, over a synthetic data set
of three seeded Gaussian blobs in 4 features. Everything is seeded and no
timestamps are written, so re-running the script yields a byte-identical file.

Usage:
    .venv/bin/python models/sample/generate.py [--out PATH]

By default the model is written beside this script as sample-mlp.onnx.
"""

from __future__ import annotations

import os

# Pin BLAS to one thread before numpy is imported, so the floating-point
# reduction order (and therefore every trained weight bit) does not depend on
# how many cores the machine has.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SEED = 20240601
N_FEATURES = 4
N_HIDDEN = 16
CLASSES = ("class_0", "class_1", "class_2")
N_CLASSES = len(CLASSES)
SAMPLES_PER_CLASS = 200
HOLDOUT_PER_CLASS = 50
STEPS = 400
LEARNING_RATE = 0.5
OPSET = 17
IR_VERSION = 8

# Three well-separated (but overlapping a little) blob centres in 4-D.
CENTRES = np.array(
    [
        [-2.0, 1.0, 0.0, -1.0],
        [2.0, 1.5, -1.0, 0.5],
        [0.0, -2.0, 1.5, 1.0],
    ],
    dtype=np.float64,
)
BLOB_STD = 1.0


def make_data(rng: np.random.Generator, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for k in range(N_CLASSES):
        xs.append(CENTRES[k] + BLOB_STD * rng.standard_normal((per_class, N_FEATURES)))
        ys.append(np.full(per_class, k, dtype=np.int64))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    order = rng.permutation(len(y))
    return x[order], y[order]


def forward(x, w1, b1, w2, b2):
    h_pre = x @ w1 + b1
    h = np.maximum(h_pre, 0.0)
    logits = h @ w2 + b2
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return h_pre, h, p


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    n = x.shape[0]
    # He initialisation for the ReLU layer, Glorot-ish for the output layer.
    w1 = rng.standard_normal((N_FEATURES, N_HIDDEN)) * np.sqrt(2.0 / N_FEATURES)
    b1 = np.zeros(N_HIDDEN)
    w2 = rng.standard_normal((N_HIDDEN, N_CLASSES)) * np.sqrt(1.0 / N_HIDDEN)
    b2 = np.zeros(N_CLASSES)
    onehot = np.eye(N_CLASSES)[y]

    for step in range(STEPS + 1):
        h_pre, h, p = forward(x, w1, b1, w2, b2)
        loss = -np.mean(np.log(p[np.arange(n), y] + 1e-12))
        if step % 100 == 0:
            acc = float(np.mean(p.argmax(axis=1) == y))
            print(f"step {step:4d}  loss {loss:.4f}  train_acc {acc:.4f}")
        if step == STEPS:
            break
        # Backprop of mean softmax cross-entropy.
        d_logits = (p - onehot) / n
        d_w2 = h.T @ d_logits
        d_b2 = d_logits.sum(axis=0)
        d_h = d_logits @ w2.T
        d_hpre = d_h * (h_pre > 0.0)
        d_w1 = x.T @ d_hpre
        d_b1 = d_hpre.sum(axis=0)
        w1 -= LEARNING_RATE * d_w1
        b1 -= LEARNING_RATE * d_b1
        w2 -= LEARNING_RATE * d_w2
        b2 -= LEARNING_RATE * d_b2

    return (
        w1.astype(np.float32),
        b1.astype(np.float32),
        w2.astype(np.float32),
        b2.astype(np.float32),
    )


def build_model(w1, b1, w2, b2, train_acc: float, holdout_acc: float) -> onnx.ModelProto:
    inp = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", N_FEATURES])
    out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", N_CLASSES])

    initializers = [
        numpy_helper.from_array(w1, name="W1"),  # [4, 16]
        numpy_helper.from_array(b1, name="b1"),  # [16]
        numpy_helper.from_array(w2, name="W2"),  # [16, 3]
        numpy_helper.from_array(b2, name="b2"),  # [3]
    ]
    nodes = [
        helper.make_node("Gemm", ["features", "W1", "b1"], ["hidden_pre"], name="dense1"),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"], name="relu1"),
        helper.make_node("Gemm", ["hidden", "W2", "b2"], ["logits"], name="dense2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "sample_mlp",
        [inp],
        [out],
        initializer=initializers,
        doc_string="features[batch,4] -> Gemm -> Relu -> Gemm -> Softmax -> probabilities[batch,3]",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="modelship-sample",
        producer_version="1",
        doc_string=(
            "modelship sample model: a 4 -> 16 (ReLU) -> 3 (softmax) MLP trained with numpy "
            "full-batch gradient descent on three seeded synthetic Gaussian blobs. "
            "Input 'features' float32 [batch, 4]; output 'probabilities' float32 [batch, 3] "
            "(rows sum to 1, class order given by metadata 'classes'). "
            "Regenerate deterministically with models/sample/generate.py."
        ),
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    helper.set_model_props(
        model,
        {
            "classes": ",".join(CLASSES),
            "input": "features float32 [batch,4]",
            "output": "probabilities float32 [batch,3]",
            "architecture": "mlp 4-16-3 relu softmax",
            "training": f"numpy full-batch gd, steps={STEPS}, lr={LEARNING_RATE}, seed={SEED}",
            "train_accuracy": f"{train_acc:.4f}",
            "holdout_accuracy": f"{holdout_acc:.4f}",
            "generator": "models/sample/generate.py",
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str] | None = None) -> int:
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample-mlp.onnx")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out, help=f"output path (default: {default_out})")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    x_train, y_train = make_data(rng, SAMPLES_PER_CLASS)
    x_hold, y_hold = make_data(rng, HOLDOUT_PER_CLASS)
    w1, b1, w2, b2 = train(x_train, y_train, rng)

    # Accuracy of the exported float32 weights, computed the way the ONNX graph does.
    def acc32(x, y):
        _, _, p = forward(x.astype(np.float32), w1, b1, w2, b2)
        return float(np.mean(p.argmax(axis=1) == y))

    train_acc = acc32(x_train, y_train)
    holdout_acc = acc32(x_hold, y_hold)
    print(f"training accuracy (float32 weights): {train_acc:.4f}")
    print(f"holdout accuracy  (float32 weights): {holdout_acc:.4f}")

    model = build_model(w1, b1, w2, b2, train_acc, holdout_acc)
    data = model.SerializeToString()
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
