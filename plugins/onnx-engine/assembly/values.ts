// Non-tensor values: sequences of tensors and optionals. They travel through the same value
// tables as tensors (as Tensor subclasses with no data of their own), so scopes, subgraphs
// and reference counting handle them alike; BufferRefs counts the tensors inside them.
import { Tensor } from "./tensor";

export class SequenceValue extends Tensor {
  items: Array<Tensor>;

  /** elemType: the element type of every item (the sequence's declared type when empty). */
  constructor(elemType: i32, items: Array<Tensor>) {
    super(elemType, new Array<i32>(), 0, new ArrayBuffer(0));
    this.items = items;
  }
}

export class OptionalValue extends Tensor {
  value: Tensor | null;
  /** For an empty optional: whether it would hold a sequence. */
  ofSequence: bool;

  constructor(elemType: i32, value: Tensor | null, ofSequence: bool) {
    super(elemType, new Array<i32>(), 0, new ArrayBuffer(0));
    this.value = value;
    this.ofSequence = ofSequence;
  }
}

export function isTensorValue(t: Tensor): bool {
  return !(t instanceof SequenceValue) && !(t instanceof OptionalValue);
}

export function valueKindName(t: Tensor): string {
  if (t instanceof SequenceValue) return "a sequence";
  if (t instanceof OptionalValue) return "an optional";
  return "a tensor";
}
