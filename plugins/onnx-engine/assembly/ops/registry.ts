// Operator table: name -> implementation, and the opset each operator first appeared in.
import { modelError } from "../errors";
import { OpContext } from "./context";
import { convOp } from "./conv";
import * as ew from "./elementwise";
import { gemmOp, matmulOp } from "./gemm";
import { batchNormOp, instanceNormOp, layerNormOp } from "./norm";
import { averagePoolOp, globalPoolOp, maxPoolOp } from "./pool";
import * as sh from "./shape";
import * as ix from "./indexing";
import * as lg from "./logic";
import * as rd from "./reduce";
import { castLikeOp, castOp } from "./cast";
import { hardmaxOp, softmaxOp } from "./softmax";
import { resizeOp, upsampleOp } from "./resize";
import { convTransposeOp } from "./conv-transpose";
import { gridSampleOp } from "./grid-sample";
import { roiAlignOp } from "./roi-align";
import { lrnOp } from "./lrn";
import { meanVarianceNormOp } from "./mean-variance-norm";
import { dequantizeLinearOp, dynamicQuantizeLinearOp, quantizeLinearOp } from "./quantize";
import { matmulIntegerOp, qlinearMatMulOp } from "./integer-gemm";
import { convIntegerOp, qlinearConvOp } from "./integer-conv";
import * as cf from "./control-flow";
import * as rnn from "./rnn";
import * as sq from "./sequence";
import { nllLossOp, softmaxCrossEntropyOp } from "./loss";
import * as sg from "./scatter-gather";
import * as sel from "./selection";
import * as mb from "./matrix-build";
import { nonMaxSuppressionOp } from "./detection";
import { einsumOp } from "./einsum";
import * as sig from "./signal";

const NAMES: StaticArray<string> = [
  "Resize", "Upsample", "ConvTranspose", "GridSample", "RoiAlign", "LRN", "MeanVarianceNormalization",
  "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv",
  "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
  "AveragePool", "BatchNormalization", "BitShift", "BlackmanWindow", "BitwiseAnd", "BitwiseNot", "BitwiseOr",
  "BitwiseXor", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Compress", "Concat",
  "Constant", "ConstantOfShape", "Conv", "Cos", "Cosh", "CumSum", "DepthToSpace", "Div", "Dropout",
  "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm",
  "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HammingWindow", "HannWindow",
  "Hardmax", "HardSigmoid",
  "HardSwish", "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LayerNormalization",
  "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool", "Mean", "Min",
  "Mish", "Mod", "Mul", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "Pad", "Pow", "PRelu", "Range", "Reciprocal", "ReduceL1",
  "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
  "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "ReverseSequence", "Round", "Scatter", "ScatterElements",
  "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid",
  "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax", "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth", "Split",
  "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unique", "Unsqueeze",
  "Where", "Xor",
  "If", "Loop", "Scan",
  "GRU", "LSTM", "RNN",
  "ConcatFromSequence", "Optional", "OptionalGetElement", "OptionalHasElement", "SequenceAt", "SequenceConstruct",
  "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap", "SplitToSequence",
];

/** Opset in which an operator was introduced (1 unless listed). */
function since(op: string): i32 {
  if (op == "Resize") return 10;
  if (op == "Upsample") return 7;
  if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "MatMulInteger" || op == "QLinearMatMul" || op == "ConvInteger" || op == "QLinearConv") return 10;
  if (op == "DynamicQuantizeLinear") return 11;
  if (op == "GridSample") return 16;
  if (op == "RoiAlign") return 10;
  if (op == "MeanVarianceNormalization") return 9;
  if (op == "Erf" || op == "Sign" || op == "Sinh" || op == "Cosh" || op == "Asinh" || op == "Acosh" || op == "Atanh") return 9;
  if (op == "ConstantOfShape" || op == "Where" || op == "IsNaN" || op == "Shrink") return 9;
  if (op == "ThresholdedRelu" || op == "IsInf" || op == "Round" || op == "Range" || op == "CumSum") return 10;
  if (op == "Mod" || op == "NonMaxSuppression") return 10;
  if (op == "Compress" || op == "EyeLike" || op == "NonZero" || op == "OneHot") return 9;
  if (op == "Unique") return 11;
  if (op == "Trilu") return 14;
  if (op == "Einsum") return 12;
  if (op == "ReverseSequence") return 10;
  if (op == "HannWindow" || op == "HammingWindow" || op == "BlackmanWindow") return 17;
  if (op == "Scatter") return 9;
  if (op == "GatherElements" || op == "GatherND" || op == "ScatterElements" || op == "ScatterND") return 11;
  if (op == "NegativeLogLikelihoodLoss" || op == "SoftmaxCrossEntropyLoss") return 12;
  if (op == "BitShift") return 11;
  if (op == "BitwiseAnd" || op == "BitwiseOr" || op == "BitwiseXor" || op == "BitwiseNot") return 18;
  if (op == "Celu" || op == "GreaterOrEqual" || op == "LessOrEqual") return 12;
  if (op == "HardSwish") return 14;
  if (op == "Scan") return 8;
  if (op.startsWith("Sequence") || op == "SplitToSequence" || op == "ConcatFromSequence") return op == "SequenceMap" ? 17 : 11;
  if (op.startsWith("Optional")) return 15;
  if (op == "CastLike") return 15;
  if (op == "LayerNormalization") return 17;
  if (op == "Mish") return 18;
  if (op == "Gelu") return 20;
  if (op == "Expand" || op == "Sin" || op == "Cos" || op == "Tan" || op == "Asin" || op == "Acos" || op == "Atan") return 7;
  return 1;
}

export function supportedOps(): Array<string> {
  const out = new Array<string>(NAMES.length);
  for (let i = 0; i < NAMES.length; i++) out[i] = NAMES[i];
  out.sort();
  return out;
}

export function isSupported(op: string): bool {
  for (let i = 0; i < NAMES.length; i++) if (unchecked(NAMES[i]) == op) return true;
  return false;
}

/** Runs the op for ctx.node; the caller has checked isSupported(). */
export function dispatch(ctx: OpContext): void {
  const op = ctx.node.opType;
  if (ctx.opset < since(op)) {
    modelError(op + " does not exist in ai.onnx opset " + ctx.opset.toString() + " (" + ctx.node.label() + ")");
    return;
  }
  switch (op) {
    case "Resize": resizeOp(ctx); break;
    case "Upsample": upsampleOp(ctx); break;
    case "ConvTranspose": convTransposeOp(ctx); break;
    case "GridSample": gridSampleOp(ctx); break;
    case "RoiAlign": roiAlignOp(ctx); break;
    case "LRN": lrnOp(ctx); break;
    case "MeanVarianceNormalization": meanVarianceNormOp(ctx); break;
    case "QuantizeLinear": quantizeLinearOp(ctx); break;
    case "DequantizeLinear": dequantizeLinearOp(ctx); break;
    case "DynamicQuantizeLinear": dynamicQuantizeLinearOp(ctx); break;
    case "MatMulInteger": matmulIntegerOp(ctx); break;
    case "QLinearMatMul": qlinearMatMulOp(ctx); break;
    case "ConvInteger": convIntegerOp(ctx); break;
    case "QLinearConv": qlinearConvOp(ctx); break;
    case "Add": ew.binaryOp(ctx, ew.ADD); break;
    case "Sub": ew.binaryOp(ctx, ew.SUB); break;
    case "Mul": ew.binaryOp(ctx, ew.MUL); break;
    case "Div": ew.binaryOp(ctx, ew.DIV); break;
    case "Pow": ew.binaryOp(ctx, ew.POW); break;
    case "Max": ew.variadicOp(ctx, ew.MAX, false); break;
    case "Min": ew.variadicOp(ctx, ew.MIN, false); break;
    case "Sum": ew.variadicOp(ctx, ew.ADD, false); break;
    case "Mean": ew.variadicOp(ctx, ew.ADD, true); break;
    case "PRelu": ew.preluOp(ctx); break;
    case "Mod": ew.modOp(ctx); break;
    case "BitShift": ew.bitwiseOp(ctx, ew.SHIFT_LEFT); break;
    case "BitwiseAnd": ew.bitwiseOp(ctx, ew.BIT_AND); break;
    case "BitwiseOr": ew.bitwiseOp(ctx, ew.BIT_OR); break;
    case "BitwiseXor": ew.bitwiseOp(ctx, ew.BIT_XOR); break;
    case "BitwiseNot": ew.bitwiseNotOp(ctx); break;
    case "Relu": ew.unaryOp(ctx, ew.RELU); break;
    case "LeakyRelu": ew.unaryOp(ctx, ew.LEAKY_RELU); break;
    case "Sigmoid": ew.unaryOp(ctx, ew.SIGMOID); break;
    case "Tanh": ew.unaryOp(ctx, ew.TANH); break;
    case "Exp": ew.unaryOp(ctx, ew.EXP); break;
    case "Sqrt": ew.unaryOp(ctx, ew.SQRT); break;
    case "Neg": ew.unaryOp(ctx, ew.NEG); break;
    case "Abs": ew.unaryOp(ctx, ew.ABS); break;
    case "Log": ew.unaryOp(ctx, ew.LOG); break;
    case "Reciprocal": ew.unaryOp(ctx, ew.RECIPROCAL); break;
    case "Floor": ew.unaryOp(ctx, ew.FLOOR); break;
    case "Ceil": ew.unaryOp(ctx, ew.CEIL); break;
    case "Elu": ew.unaryOp(ctx, ew.ELU); break;
    case "Selu": ew.unaryOp(ctx, ew.SELU); break;
    case "HardSigmoid": ew.unaryOp(ctx, ew.HARD_SIGMOID); break;
    case "HardSwish": ew.unaryOp(ctx, ew.HARD_SWISH); break;
    case "Softplus": ew.unaryOp(ctx, ew.SOFTPLUS); break;
    case "Softsign": ew.unaryOp(ctx, ew.SOFTSIGN); break;
    case "Erf": ew.unaryOp(ctx, ew.ERF); break;
    case "Sin": ew.unaryOp(ctx, ew.SIN); break;
    case "Cos": ew.unaryOp(ctx, ew.COS); break;
    case "Tan": ew.unaryOp(ctx, ew.TAN); break;
    case "Asin": ew.unaryOp(ctx, ew.ASIN); break;
    case "Acos": ew.unaryOp(ctx, ew.ACOS); break;
    case "Atan": ew.unaryOp(ctx, ew.ATAN); break;
    case "Sinh": ew.unaryOp(ctx, ew.SINH); break;
    case "Cosh": ew.unaryOp(ctx, ew.COSH); break;
    case "Asinh": ew.unaryOp(ctx, ew.ASINH); break;
    case "Acosh": ew.unaryOp(ctx, ew.ACOSH); break;
    case "Atanh": ew.unaryOp(ctx, ew.ATANH); break;
    case "Sign": ew.unaryOp(ctx, ew.SIGN); break;
    case "Round": ew.unaryOp(ctx, ew.ROUND); break;
    case "ThresholdedRelu": ew.unaryOp(ctx, ew.THRESHOLDED_RELU); break;
    case "Shrink": ew.unaryOp(ctx, ew.SHRINK); break;
    case "Celu": ew.unaryOp(ctx, ew.CELU); break;
    case "Gelu": ew.unaryOp(ctx, ew.GELU); break;
    case "Mish": ew.unaryOp(ctx, ew.MISH); break;
    case "Clip": ew.clipOp(ctx); break;
    case "Equal": lg.compareOp(ctx, lg.EQUAL); break;
    case "Less": lg.compareOp(ctx, lg.LESS); break;
    case "Greater": lg.compareOp(ctx, lg.GREATER); break;
    case "LessOrEqual": lg.compareOp(ctx, lg.LESS_EQUAL); break;
    case "GreaterOrEqual": lg.compareOp(ctx, lg.GREATER_EQUAL); break;
    case "And": lg.compareOp(ctx, lg.AND); break;
    case "Or": lg.compareOp(ctx, lg.OR); break;
    case "Xor": lg.compareOp(ctx, lg.XOR); break;
    case "Not": lg.notOp(ctx); break;
    case "IsNaN": lg.isSpecialOp(ctx, true); break;
    case "IsInf": lg.isSpecialOp(ctx, false); break;
    case "Where": lg.whereOp(ctx); break;
    case "ReduceSum": rd.reduceOp(ctx, rd.R_SUM); break;
    case "ReduceMean": rd.reduceOp(ctx, rd.R_MEAN); break;
    case "ReduceMax": rd.reduceOp(ctx, rd.R_MAX); break;
    case "ReduceMin": rd.reduceOp(ctx, rd.R_MIN); break;
    case "ReduceProd": rd.reduceOp(ctx, rd.R_PROD); break;
    case "ReduceL1": rd.reduceOp(ctx, rd.R_L1); break;
    case "ReduceL2": rd.reduceOp(ctx, rd.R_L2); break;
    case "ReduceSumSquare": rd.reduceOp(ctx, rd.R_SUM_SQUARE); break;
    case "ReduceLogSum": rd.reduceOp(ctx, rd.R_LOG_SUM); break;
    case "ReduceLogSumExp": rd.reduceOp(ctx, rd.R_LOG_SUM_EXP); break;
    case "ArgMax": rd.argOp(ctx, true); break;
    case "ArgMin": rd.argOp(ctx, false); break;
    case "CumSum": rd.cumSumOp(ctx); break;
    case "Gather": ix.gatherOp(ctx); break;
    case "GatherElements": sg.gatherElementsOp(ctx); break;
    case "GatherND": sg.gatherNDOp(ctx); break;
    case "ScatterElements": case "Scatter": sg.scatterElementsOp(ctx); break;
    case "ScatterND": sg.scatterNDOp(ctx); break;
    case "NegativeLogLikelihoodLoss": nllLossOp(ctx); break;
    case "TopK": sel.topKOp(ctx); break;
    case "NonZero": sel.nonZeroOp(ctx); break;
    case "Unique": sel.uniqueOp(ctx); break;
    case "Compress": sel.compressOp(ctx); break;
    case "Trilu": mb.triluOp(ctx); break;
    case "Einsum": einsumOp(ctx); break;
    case "ReverseSequence": sel.reverseSequenceOp(ctx); break;
    case "HannWindow": sig.windowOp(ctx, sig.HANN); break;
    case "HammingWindow": sig.windowOp(ctx, sig.HAMMING); break;
    case "BlackmanWindow": sig.windowOp(ctx, sig.BLACKMAN); break;
    case "EyeLike": mb.eyeLikeOp(ctx); break;
    case "OneHot": mb.oneHotOp(ctx); break;
    case "NonMaxSuppression": nonMaxSuppressionOp(ctx); break;
    case "SoftmaxCrossEntropyLoss": softmaxCrossEntropyOp(ctx); break;
    case "Slice": ix.sliceOp(ctx); break;
    case "Expand": ix.expandOp(ctx); break;
    case "Tile": ix.tileOp(ctx); break;
    case "Pad": ix.padOp(ctx); break;
    case "Split": ix.splitOp(ctx); break;
    case "ConstantOfShape": ix.constantOfShapeOp(ctx); break;
    case "Range": ix.rangeOp(ctx); break;
    case "Size": ix.sizeOp(ctx); break;
    case "DepthToSpace": ix.depthSpaceOp(ctx, true); break;
    case "SpaceToDepth": ix.depthSpaceOp(ctx, false); break;
    case "Cast": castOp(ctx); break;
    case "CastLike": castLikeOp(ctx); break;
    case "Softmax": softmaxOp(ctx, false); break;
    case "LogSoftmax": softmaxOp(ctx, true); break;
    case "Hardmax": hardmaxOp(ctx); break;
    case "Gemm": gemmOp(ctx); break;
    case "MatMul": matmulOp(ctx); break;
    case "Conv": convOp(ctx); break;
    case "MaxPool": maxPoolOp(ctx); break;
    case "AveragePool": averagePoolOp(ctx); break;
    case "GlobalAveragePool": globalPoolOp(ctx, false); break;
    case "GlobalMaxPool": globalPoolOp(ctx, true); break;
    case "BatchNormalization": batchNormOp(ctx); break;
    case "InstanceNormalization": instanceNormOp(ctx); break;
    case "LayerNormalization": layerNormOp(ctx); break;
    case "Identity": sh.identityOp(ctx); break;
    case "Reshape": sh.reshapeOp(ctx); break;
    case "Flatten": sh.flattenOp(ctx); break;
    case "Transpose": sh.transposeOp(ctx); break;
    case "Concat": sh.concatOp(ctx); break;
    case "Squeeze": sh.squeezeOp(ctx); break;
    case "Unsqueeze": sh.unsqueezeOp(ctx); break;
    case "Constant": sh.constantOp(ctx); break;
    case "Dropout": sh.dropoutOp(ctx); break;
    case "Shape": sh.shapeOp(ctx); break;
    case "If": cf.ifOp(ctx); break;
    case "Loop": cf.loopOp(ctx); break;
    case "Scan": cf.scanOp(ctx); break;
    case "RNN": rnn.recurrentOp(ctx, rnn.RNN); break;
    case "GRU": rnn.recurrentOp(ctx, rnn.GRU); break;
    case "LSTM": rnn.recurrentOp(ctx, rnn.LSTM); break;
    case "SequenceEmpty": sq.sequenceEmptyOp(ctx); break;
    case "SequenceConstruct": sq.sequenceConstructOp(ctx); break;
    case "SequenceInsert": sq.sequenceInsertOp(ctx); break;
    case "SequenceAt": sq.sequenceAtOp(ctx); break;
    case "SequenceErase": sq.sequenceEraseOp(ctx); break;
    case "SequenceLength": sq.sequenceLengthOp(ctx); break;
    case "SplitToSequence": sq.splitToSequenceOp(ctx); break;
    case "ConcatFromSequence": sq.concatFromSequenceOp(ctx); break;
    case "SequenceMap": sq.sequenceMapOp(ctx); break;
    case "Optional": sq.optionalOp(ctx); break;
    case "OptionalHasElement": sq.optionalHasElementOp(ctx); break;
    case "OptionalGetElement": sq.optionalGetElementOp(ctx); break;
    default: modelError("no implementation for " + op);
  }
}
