"""Builds the sandbox engine's warm-up model (src/sandbox/engine-warm-up-model.ts) and prints it
as base64. Every engine instance runs it once while it is prepared, off the call path: the first
instance of a process thereby compiles the code the common layers need (the engine compiles each
function on its first call; see src/sandbox/wasm-tiering.ts), so a worker's first smoke call does
not. It has the layers the published-model corpus is made of, at toy sizes: convolutions with
batch norm, activations and pooling, a residual block, a classifier head, attention with layer
norm, an LSTM and a GRU, resizing, and a QDQ-quantized convolution and dynamically quantized
MatMul. Weights are small fixed pseudo-random values; nothing depends on them.

usage: .venv/bin/python scripts/make_engine_warm_up_model.py
"""
import base64

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
inits = []
nodes = []


def w(name, *shape, dtype=np.float32):
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(dtype), name))
    return name


def const(name, values, dtype):
    inits.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
    return name


def n(op, inputs, output, **attrs):
    nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
    return output


c = 8
x = n("Conv", ["x", w("w1", c, 3, 3, 3), w("b1", c)], "conv1", pads=[1, 1, 1, 1])
x = n("BatchNormalization", [x, const("bn_s", np.ones(c), np.float32), w("bn_b", c), w("bn_m", c), const("bn_v", np.ones(c), np.float32)], "bn1")
x = n("Relu", [x], "relu1")
x = n("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2])  # 1x8x16x16
y = n("Conv", [x, w("wdw", c, 1, 3, 3)], "dwconv", pads=[1, 1, 1, 1], group=c)
y = n("HardSwish", [y], "hswish")
y = n("Conv", [y, w("wpw", c, c, 1, 1), w("bpw", c)], "pwconv")
y = n("Mul", [y, n("Sigmoid", [y], "sig")], "silu")
x = n("Add", [x, y], "residual")
x = n("Clip", [x, const("lo", 0.0, np.float32), const("hi", 6.0, np.float32)], "relu6")

head = n("GlobalAveragePool", [x], "gap")
head = n("Flatten", [head], "flat")
head = n("Gemm", [head, w("wfc", 10, c), w("bfc", 10)], "fc", transB=1)
n("Softmax", [head], "classes", axis=-1)

seq = n("Reshape", [x, const("seq_shape", [1, c, 256], np.int64)], "seq")
seq = n("Transpose", [seq], "tokens", perm=[0, 2, 1])  # 1x256x8
h = n("LayerNormalization", [seq, const("ln_s", np.ones(c), np.float32), w("ln_b", c)], "ln", axis=-1)
q = n("MatMul", [h, w("wq", c, c)], "q")
k = n("MatMul", [h, w("wk", c, c)], "k")
v = n("MatMul", [h, w("wv", c, c)], "v")
scores = n("MatMul", [q, n("Transpose", [k], "kt", perm=[0, 2, 1])], "scores")
scores = n("Div", [scores, const("sqrt_d", np.sqrt(c), np.float32)], "scaled")
att = n("MatMul", [n("Softmax", [scores], "attn", axis=-1), v], "context")
ff = n("Add", [n("MatMul", [att, w("wff", c, c)], "ff_mm"), w("bff", c)], "ff")
ff = n("Erf", [ff], "ff_act")
n("ReduceMean", [ff], "pooled", axes=[1], keepdims=0)

rnn_in = n("Transpose", [seq], "time_major", perm=[1, 0, 2])  # 256x1x8
hid = 8
lstm_out = "lstm_y"
nodes.append(helper.make_node("LSTM", [rnn_in, w("lstm_w", 1, 4 * hid, c), w("lstm_r", 1, 4 * hid, hid), w("lstm_b", 1, 8 * hid)], [lstm_out], name="lstm", hidden_size=hid))
gru_in = n("Squeeze", [lstm_out, const("axis1", [1], np.int64)], "lstm_seq")
nodes.append(helper.make_node("GRU", [gru_in, w("gru_w", 1, 3 * hid, hid), w("gru_r", 1, 3 * hid, hid), w("gru_b", 1, 6 * hid)], ["gru_y"], name="gru", hidden_size=hid, linear_before_reset=1))
n("ReduceMean", ["gru_y"], "recurrent", axes=[0], keepdims=0)

up = n("Resize", [x, "", const("scales", [1, 1, 2, 2], np.float32)], "upsampled", mode="linear")
n("Concat", [up, n("Resize", [x, "", "scales"], "upsampled_nearest", mode="nearest")], "features", axis=1)

qx = n("QuantizeLinear", [x, const("qs", 0.05, np.float32), const("qz", 128, np.uint8)], "qx")
dqx = n("DequantizeLinear", [qx, "qs", "qz"], "dqx")
qw = numpy_helper.from_array(rng.integers(0, 255, (c, c, 3, 3)).astype(np.uint8), "qw")
inits.append(qw)
dqw = n("DequantizeLinear", ["qw", const("qws", 0.01, np.float32), const("qwz", 128, np.uint8)], "dqw")
qc = n("Conv", [dqx, dqw], "qconv", pads=[1, 1, 1, 1])
qc = n("DequantizeLinear", [n("QuantizeLinear", [qc, "qs", "qz"], "qconv_q"), "qs", "qz"], "qconv_dq")
flat = n("Reshape", [qc, const("tok_shape", [256, c], np.int64)], "qtokens")
nodes.append(helper.make_node("DynamicQuantizeLinear", [flat], ["dq_y", "dq_scale", "dq_zero"], name="dynq"))
wq8 = numpy_helper.from_array(rng.integers(0, 255, (c, c)).astype(np.uint8), "wq8")
inits.append(wq8)
n("MatMulInteger", ["dq_y", "wq8", "dq_zero", const("wq8_zero", 128, np.uint8)], "int_matmul")

outputs = ["classes", "pooled", "recurrent", "features", "int_matmul"]
graph = helper.make_graph(
    nodes,
    "modelship_engine_warm_up",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
    [],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="modelship")
model.ir_version = 8
# The outputs' types and shapes, as shape inference gives them.
inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
model.graph.output.extend(inferred[o] for o in outputs)
onnx.checker.check_model(model, full_check=True)
print(base64.b64encode(model.SerializeToString()).decode())
