// ReverseSequence (opset 10): reverses the first sequence_lens[b] time steps of every batch
// entry; converters emit it around recurrent layers (tf2onnx's bidirectional LSTMs). Works
// on every element type the engine holds.
import { failed } from "../errors";
import { dimsToString, elementSize, newTensor, product } from "../tensor";
import { OpContext } from "./context";

export function reverseSequenceOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const lens = ctx.int64(1, "sequence_lens", false);
  if (x === null || lens === null) return;
  const timeAxis = ctx.attrInt("time_axis", 0);
  const batchAxis = ctx.attrInt("batch_axis", 1);
  if (failed()) return;
  if (x.rank < 2) return ctx.error("input must have rank >= 2, has shape " + dimsToString(x.dims));
  if (!((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0))) {
    return ctx.error("time_axis and batch_axis must be 0 and 1 (either way round), are " + timeAxis.toString() + " and " + batchAxis.toString());
  }
  const steps = x.dims[<i32>timeAxis];
  const batch = x.dims[<i32>batchAxis];
  if (lens.rank != 1 || lens.size != batch) return ctx.error("sequence_lens has shape " + dimsToString(lens.dims) + ", expected [" + batch.toString() + "]");
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const inner = <usize>product(x.dims, 2, x.rank) * <usize>elementSize(x.dtype);
  for (let b = 0; b < batch; b++) {
    const len = lens.getI64(b);
    if (len < 0 || len > <i64>steps) return ctx.error("sequence_lens[" + b.toString() + "] = " + len.toString() + " is outside [0, " + steps.toString() + "]");
    for (let t = 0; t < steps; t++) {
      const from = <i64>t < len ? <i32>len - 1 - t : t;
      const src = timeAxis == 0 ? from * batch + b : b * steps + from;
      const dst = timeAxis == 0 ? t * batch + b : b * steps + t;
      memory.copy(out.ptr + <usize>dst * inner, x.ptr + <usize>src * inner, inner);
    }
  }
  ctx.setOutput(0, out);
}
