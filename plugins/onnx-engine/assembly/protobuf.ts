// A bounds-checked protobuf wire-format reader over a byte range of a buffer.
// Every read checks the remaining length; on a problem it records a decode error and
// returns zero, and next() returns false so that decoding loops stop.
import { decodeError, failed } from "./errors";

export const WIRE_VARINT: i32 = 0;
export const WIRE_FIXED64: i32 = 1;
export const WIRE_LEN: i32 = 2;
export const WIRE_FIXED32: i32 = 5;

export class Reader {
  base: usize; // address of byte 0 of the whole buffer
  pos: i32;
  end: i32;
  what: string;
  field: i32 = 0;
  wire: i32 = 0;

  constructor(base: usize, pos: i32, end: i32, what: string) {
    this.base = base;
    this.pos = pos;
    this.end = end;
    this.what = what;
  }

  error(msg: string): void {
    decodeError(this.what + ": " + msg + " at byte " + this.pos.toString());
    this.pos = this.end;
  }

  /** Reads the next tag; false at the end of the message or after an error. */
  next(): bool {
    if (failed() || this.pos >= this.end) return false;
    const tag = this.varint();
    if (failed()) return false;
    const field = tag >> 3;
    const wire = <i32>(tag & 7);
    if (field == 0 || field > 0x1fffffff) {
      this.error("invalid field number " + field.toString());
      return false;
    }
    if (wire != WIRE_VARINT && wire != WIRE_FIXED64 && wire != WIRE_LEN && wire != WIRE_FIXED32) {
      this.error("invalid wire type " + wire.toString() + " for field " + field.toString());
      return false;
    }
    this.field = <i32>field;
    this.wire = wire;
    return true;
  }

  varint(): u64 {
    let result: u64 = 0;
    let shift: u64 = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        this.error("truncated varint");
        return 0;
      }
      const b = <u64>load<u8>(this.base + <usize>this.pos);
      this.pos++;
      if (i == 9 && b > 1) {
        this.error("varint longer than 64 bits");
        return 0;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return result;
      shift += 7;
    }
    this.error("varint longer than 10 bytes");
    return 0;
  }

  fixed32(): u32 {
    if (this.end - this.pos < 4) {
      this.error("truncated fixed32");
      return 0;
    }
    const v = load<u32>(this.base + <usize>this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): u64 {
    if (this.end - this.pos < 8) {
      this.error("truncated fixed64");
      return 0;
    }
    const v = load<u64>(this.base + <usize>this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the start of the payload; the payload ends at pos. */
  lengthDelimited(): i32 {
    const len = this.varint();
    if (failed()) return this.pos;
    if (len > <u64>(this.end - this.pos)) {
      this.error("length " + len.toString() + " of field " + this.field.toString() + " runs past the end (" + (this.end - this.pos).toString() + " bytes left)");
      return this.pos;
    }
    const start = this.pos;
    this.pos += <i32>len;
    return start;
  }

  /** A reader over the payload of the current length-delimited field. */
  sub(what: string): Reader {
    if (this.wire != WIRE_LEN) {
      this.error("field " + this.field.toString() + " of " + what + " should be length-delimited");
      return new Reader(this.base, this.pos, this.pos, what);
    }
    const start = this.lengthDelimited();
    return new Reader(this.base, start, failed() ? start : this.pos, what);
  }

  string(): string {
    if (this.wire != WIRE_LEN) {
      this.error("string field " + this.field.toString() + " is not length-delimited");
      return "";
    }
    const start = this.lengthDelimited();
    if (failed()) return "";
    return String.UTF8.decodeUnsafe(this.base + <usize>start, <usize>(this.pos - start));
  }

  int64(): i64 {
    if (this.wire != WIRE_VARINT) {
      this.error("integer field " + this.field.toString() + " has wire type " + this.wire.toString());
      return 0;
    }
    return <i64>this.varint();
  }

  int32(): i32 {
    return <i32>this.int64();
  }

  float32(): f32 {
    if (this.wire != WIRE_FIXED32) {
      this.error("float field " + this.field.toString() + " has wire type " + this.wire.toString());
      return 0;
    }
    return reinterpret<f32>(this.fixed32());
  }

  skip(): void {
    const w = this.wire;
    if (w == WIRE_VARINT) this.varint();
    else if (w == WIRE_FIXED64) this.fixed64();
    else if (w == WIRE_FIXED32) this.fixed32();
    else this.lengthDelimited();
  }

  /** Repeated int64 (packed or not), appended to out. */
  int64s(out: Array<i64>): void {
    if (this.wire == WIRE_LEN) {
      const start = this.lengthDelimited();
      if (failed()) return;
      const r = new Reader(this.base, start, this.pos, this.what);
      while (r.pos < r.end && !failed()) out.push(<i64>r.varint());
    } else if (this.wire == WIRE_VARINT) {
      out.push(<i64>this.varint());
    } else {
      this.error("repeated integer field " + this.field.toString() + " has wire type " + this.wire.toString());
    }
  }

  /** Repeated float (packed or not), appended to out. */
  float32s(out: Array<f32>): void {
    if (this.wire == WIRE_LEN) {
      const start = this.lengthDelimited();
      if (failed()) return;
      const n = this.pos - start;
      if (n & 3) {
        this.error("packed float field " + this.field.toString() + " has " + n.toString() + " bytes, not a multiple of 4");
        return;
      }
      for (let p = start; p < this.pos; p += 4) out.push(load<f32>(this.base + <usize>p));
    } else if (this.wire == WIRE_FIXED32) {
      out.push(reinterpret<f32>(this.fixed32()));
    } else {
      this.error("repeated float field " + this.field.toString() + " has wire type " + this.wire.toString());
    }
  }

  /** Repeated double (packed or not), appended to out. */
  float64s(out: Array<f64>): void {
    if (this.wire == WIRE_LEN) {
      const start = this.lengthDelimited();
      if (failed()) return;
      const n = this.pos - start;
      if (n & 7) {
        this.error("packed double field " + this.field.toString() + " has " + n.toString() + " bytes, not a multiple of 8");
        return;
      }
      for (let p = start; p < this.pos; p += 8) out.push(load<f64>(this.base + <usize>p));
    } else if (this.wire == WIRE_FIXED64) {
      out.push(reinterpret<f64>(this.fixed64()));
    } else {
      this.error("repeated double field " + this.field.toString() + " has wire type " + this.wire.toString());
    }
  }
}
