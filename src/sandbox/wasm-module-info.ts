/**
 * A small, bounds-checked reader of a WebAssembly binary's outline, used to check a plugin
 * BEFORE it is compiled or instantiated: header, section ids and sizes, imports (module, field,
 * kind, and the limits of an imported memory or table), the module's own memories and tables
 * (section 5 and 4 limits), and exports. Function bodies are not read; the engine validates
 * those when it compiles. Every read is checked against the end of its section, so malformed
 * input (truncated, overlong LEB128, sizes past the end) ends in a WasmParseError that says
 * what and where, never in a RangeError or a hang.
 *
 * Reference: WebAssembly Core Specification 2.0, section 5 (binary format), plus the memory64
 * and threads limits flags.
 */

export class WasmParseError extends Error {
  /** Byte offset in the module where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'WasmParseError';
    this.offset = offset;
  }
}

export type WasmExternalKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

export interface WasmLimits {
  /** Minimum size: pages for a memory, elements for a table. */
  readonly min: number;
  /** Declared maximum, or null when the module declares none. */
  readonly max: number | null;
  readonly shared: boolean;
  /** 64-bit index type (memory64 / table64). */
  readonly index64: boolean;
}

export interface WasmImport {
  readonly module: string;
  readonly field: string;
  readonly kind: WasmExternalKind;
  /** For an imported memory or table: its limits. */
  readonly limits?: WasmLimits;
}

export interface WasmExport {
  readonly name: string;
  readonly kind: WasmExternalKind;
}

export interface WasmSection {
  readonly id: number;
  /** Offset of the section's contents (after its id and size). */
  readonly offset: number;
  readonly size: number;
  /** Name of a custom section (id 0). */
  readonly name?: string;
}

export interface WasmModuleInfo {
  readonly version: number;
  readonly sections: readonly WasmSection[];
  readonly imports: readonly WasmImport[];
  /** Memories the module defines itself (section 5), in order. */
  readonly memories: readonly WasmLimits[];
  /** Tables the module defines itself (section 4), in order. */
  readonly tables: readonly WasmLimits[];
  readonly exports: readonly WasmExport[];
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Known section ids, in the order the specification requires them. */
const SECTION_ORDER: ReadonlyMap<number, number> = new Map([
  [1, 1], // type
  [2, 2], // import
  [3, 3], // function
  [4, 4], // table
  [5, 5], // memory
  [13, 6], // tag (exception handling)
  [6, 7], // global
  [7, 8], // export
  [8, 9], // start
  [9, 10], // element
  [12, 11], // data count
  [10, 12], // code
  [11, 13], // data
]);

const SECTION_NAMES: Readonly<Record<number, string>> = {
  0: 'custom',
  1: 'type',
  2: 'import',
  3: 'function',
  4: 'table',
  5: 'memory',
  6: 'global',
  7: 'export',
  8: 'start',
  9: 'element',
  10: 'code',
  11: 'data',
  12: 'data count',
  13: 'tag',
};

const KINDS: readonly WasmExternalKind[] = ['function', 'table', 'memory', 'global', 'tag'];

/** Upper bound on entries in a vector: each entry takes at least one byte of the section. */
function checkCount(count: number, reader: Reader, what: string): void {
  if (count > reader.remaining()) {
    throw new WasmParseError(`${what} count ${count} exceeds the ${reader.remaining()} bytes left in the section`, reader.pos);
  }
}

class Reader {
  pos: number;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    /** Exclusive end of the region this reader may read. */
    readonly end: number,
    private readonly region: string,
  ) {
    this.pos = start;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new WasmParseError(`unexpected end of ${this.region} while reading ${what}`, this.pos);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++] as number;
  }

  peek(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos] as number;
  }

  /** Unsigned LEB128 of at most `bits` bits, in at most ceil(bits / 7) bytes. */
  private uleb(bits: 32 | 64, what: string): bigint {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    for (let i = 0; ; i++) {
      const byte = this.u8(what);
      const shift = BigInt(7 * i);
      if (i === maxBytes - 1) {
        // The last permitted byte must end the number and may only carry the bits that are left.
        if (byte & 0x80) {
          throw new WasmParseError(`overlong LEB128 for ${what} (more than ${maxBytes} bytes)`, start);
        }
        if (byte >> (bits - 7 * i) !== 0) {
          throw new WasmParseError(`LEB128 for ${what} exceeds ${bits} bits`, start);
        }
      }
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  }

  u32(what: string): number {
    return Number(this.uleb(32, what));
  }

  /** A u64 as a number; values above 2^53 are refused (no real limit is that large). */
  u64(what: string): number {
    const start = this.pos;
    const value = this.uleb(64, what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new WasmParseError(`${what} ${value} is too large`, start);
    }
    return Number(value);
  }

  /** Skips a signed LEB128 of at most 33 bits (a heap type index). */
  s33(what: string): void {
    const start = this.pos;
    for (let i = 0; ; i++) {
      if (i >= 5) throw new WasmParseError(`overlong LEB128 for ${what}`, start);
      if ((this.u8(what) & 0x80) === 0) return;
    }
  }

  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const slice = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return slice;
  }

  name(what: string): string {
    const start = this.pos;
    const length = this.u32(`${what} length`);
    const raw = this.bytesOf(length, what);
    try {
      return this.utf8.decode(raw);
    } catch {
      throw new WasmParseError(`${what} is not valid UTF-8`, start);
    }
  }
}

function readLimits(r: Reader, what: string): WasmLimits {
  const flagsAt = r.pos;
  const flags = r.u8(`${what} limits flags`);
  if (flags > 0x07) {
    throw new WasmParseError(`unknown ${what} limits flags 0x${flags.toString(16)}`, flagsAt);
  }
  const hasMax = (flags & 0x01) !== 0;
  const shared = (flags & 0x02) !== 0;
  const index64 = (flags & 0x04) !== 0;
  const read = (label: string): number => (index64 ? r.u64(label) : r.u32(label));
  const min = read(`${what} minimum`);
  const max = hasMax ? read(`${what} maximum`) : null;
  if (max !== null && max < min) {
    throw new WasmParseError(`${what} maximum ${max} is below its minimum ${min}`, flagsAt);
  }
  if (shared && max === null) {
    throw new WasmParseError(`shared ${what} must declare a maximum`, flagsAt);
  }
  return { min, max, shared, index64 };
}

/** Skips a value type (numeric, vector, or reference type with an optional heap type). */
function skipValueType(r: Reader, what: string): void {
  const at = r.pos;
  const code = r.u8(what);
  if (code === 0x63 || code === 0x64) {
    r.s33(`${what} heap type`); // (ref null? ht)
    return;
  }
  // i32 i64 f32 f64 v128, and the abbreviated reference types (funcref, externref, anyref, ...)
  if ((code >= 0x7b && code <= 0x7f) || (code >= 0x69 && code <= 0x74)) return;
  throw new WasmParseError(`unknown ${what} 0x${code.toString(16)}`, at);
}

function readTableType(r: Reader): WasmLimits {
  skipValueType(r, 'table element type');
  return readLimits(r, 'table');
}

function readImports(r: Reader): WasmImport[] {
  const count = r.u32('import count');
  checkCount(count, r, 'import');
  const imports: WasmImport[] = [];
  for (let i = 0; i < count; i++) {
    const module = r.name(`import ${i} module name`);
    const field = r.name(`import ${i} field name`);
    const kindAt = r.pos;
    const kindCode = r.u8(`import ${i} kind`);
    const kind = KINDS[kindCode];
    if (kind === undefined) {
      throw new WasmParseError(`unknown kind 0x${kindCode.toString(16)} of import "${module}"."${field}"`, kindAt);
    }
    switch (kind) {
      case 'function':
        r.u32(`import ${i} type index`);
        imports.push({ module, field, kind });
        break;
      case 'table':
        imports.push({ module, field, kind, limits: readTableType(r) });
        break;
      case 'memory':
        imports.push({ module, field, kind, limits: readLimits(r, 'memory') });
        break;
      case 'global':
        skipValueType(r, 'global type');
        if (r.u8('global mutability') > 1) throw new WasmParseError('bad global mutability', r.pos - 1);
        imports.push({ module, field, kind });
        break;
      case 'tag':
        if (r.u8('tag attribute') !== 0) throw new WasmParseError('bad tag attribute', r.pos - 1);
        r.u32(`import ${i} tag type index`);
        imports.push({ module, field, kind });
        break;
    }
  }
  return imports;
}

function readMemories(r: Reader): WasmLimits[] {
  const count = r.u32('memory count');
  checkCount(count, r, 'memory');
  const memories: WasmLimits[] = [];
  for (let i = 0; i < count; i++) memories.push(readLimits(r, 'memory'));
  return memories;
}

function readTables(r: Reader): WasmLimits[] {
  const count = r.u32('table count');
  checkCount(count, r, 'table');
  const tables: WasmLimits[] = [];
  for (let i = 0; i < count; i++) {
    if (r.peek('table type') === 0x40) {
      throw new WasmParseError('tables with initializer expressions are not supported', r.pos);
    }
    tables.push(readTableType(r));
  }
  return tables;
}

function readExports(r: Reader): WasmExport[] {
  const count = r.u32('export count');
  checkCount(count, r, 'export');
  const exports: WasmExport[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.name(`export ${i} name`);
    const kindAt = r.pos;
    const kindCode = r.u8(`export ${i} kind`);
    const kind = KINDS[kindCode];
    if (kind === undefined) {
      throw new WasmParseError(`unknown kind 0x${kindCode.toString(16)} of export "${name}"`, kindAt);
    }
    r.u32(`export ${i} index`);
    exports.push({ name, kind });
  }
  return exports;
}

/**
 * Reads the outline of a WebAssembly core module. Throws WasmParseError when the bytes are not
 * one (wrong magic, a component or other version, malformed or truncated sections).
 */
export function parseWasmModuleInfo(bytes: Uint8Array): WasmModuleInfo {
  if (bytes.length < 8) {
    throw new WasmParseError(`not a WebAssembly module: ${bytes.length} bytes is shorter than the 8-byte header`, 0);
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) throw new WasmParseError('not a WebAssembly module: missing the "\\0asm" magic', 0);
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  if (version !== 1) {
    const what = version === 0x0001000d ? 'a WebAssembly component, not a core module' : `WebAssembly binary version ${version}`;
    throw new WasmParseError(`unsupported module: ${what} (only version 1 core modules run)`, 4);
  }

  const sections: WasmSection[] = [];
  let imports: WasmImport[] = [];
  let memories: WasmLimits[] = [];
  let tables: WasmLimits[] = [];
  let exports: WasmExport[] = [];
  let lastRank = 0;

  const top = new Reader(bytes, 8, bytes.length, 'module');
  while (top.remaining() > 0) {
    const idAt = top.pos;
    const id = top.u8('section id');
    const size = top.u32(`size of section ${id}`);
    const offset = top.pos;
    if (size > top.remaining()) {
      throw new WasmParseError(
        `${SECTION_NAMES[id] ?? 'unknown'} section ${id} declares ${size} bytes but only ${top.remaining()} remain`,
        idAt,
      );
    }
    const label = `${SECTION_NAMES[id] ?? 'unknown'} section`;
    const r = new Reader(bytes, offset, offset + size, label);
    if (id === 0) {
      sections.push({ id, offset, size, name: r.name('custom section name') });
    } else {
      const rank = SECTION_ORDER.get(id);
      if (rank === undefined) throw new WasmParseError(`unknown section id ${id}`, idAt);
      if (rank <= lastRank) throw new WasmParseError(`${label} is duplicated or out of order`, idAt);
      lastRank = rank;
      sections.push({ id, offset, size });
      let parsed = true;
      switch (id) {
        case 2:
          imports = readImports(r);
          break;
        case 4:
          tables = readTables(r);
          break;
        case 5:
          memories = readMemories(r);
          break;
        case 7:
          exports = readExports(r);
          break;
        default:
          parsed = false;
      }
      if (parsed && r.remaining() !== 0) {
        throw new WasmParseError(`${label} has ${r.remaining()} bytes after its last entry`, r.pos);
      }
    }
    top.pos = offset + size;
  }
  return { version, sections, imports, memories, tables, exports };
}
