// MaxPool on the narrow types whose every value float32 holds exactly (float16, bfloat16,
// int8, uint8, int16, uint16): the float32 kernel runs on a widened copy and the result (a
// selection of input values, so still exact) is narrowed back. Indices pass through.
import { BFLOAT16, FLOAT, FLOAT16, INT16, INT8, Tensor, UINT16, UINT8, newTensor } from "../tensor";
import { OpContext } from "./context";
import { maxPoolOp } from "./pool";

function exactInF32(t: i32): bool {
  return t == FLOAT16 || t == BFLOAT16 || t == INT8 || t == UINT8 || t == INT16 || t == UINT16;
}

export function maxPoolAnyType(ctx: OpContext): void {
  const x = ctx.optional(0);
  if (x === null || !exactInF32(x.dtype)) return maxPoolOp(ctx);
  const wide = newTensor(FLOAT, x.dims, "X of " + ctx.label());
  if (wide === null) return;
  for (let i = 0; i < x.size; i++) store<f32>(wide.ptr + (<usize>i << 2), <f32>x.loadF64(i));
  ctx.inputs[0] = wide;
  maxPoolOp(ctx);
  ctx.inputs[0] = x;
  const y = ctx.outputs.length > 0 ? ctx.outputs[0] : null;
  if (y === null) return;
  const narrow = newTensor(x.dtype, y.dims, "output of " + ctx.label());
  if (narrow === null) return;
  const yy = changetype<Tensor>(y);
  for (let i = 0; i < yy.size; i++) narrow.storeF64(i, <f64>yy.getF32(i));
  ctx.setOutput(0, narrow);
}
