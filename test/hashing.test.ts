// Streaming SHA-256, the root digest rule and the model-folder walk, checked against
// node:crypto one-shot hashes and real coreutils.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HASH_CHUNK_BYTES, sha256File, sha256Hex, type HashProgress } from '../src/hashing/stream-hash.js';
import {
  assertCanonicalPath,
  canonicalPathProblem,
  compareCanonicalPaths,
  rootDigest,
  rootDigestLines,
} from '../src/hashing/root-digest.js';
import { IGNORED_NAMES, listModelFiles } from '../src/hashing/list-files.js';
import { run, runShell, seededBytes, TempDirs } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

const MiB = 1 << 20;
const SIZES: ReadonlyArray<[string, number]> = [
  ['0 bytes', 0],
  ['1 byte', 1],
  ['1 MiB - 1', MiB - 1],
  ['exactly 1 MiB', MiB],
  ['1 MiB + 1', MiB + 1],
  ['~5 MiB', 5 * MiB + 12_345],
];

function sha256sum(path: string): string {
  const result = run('sha256sum', ['--', path]);
  assert.equal(result.status, 0, result.stderr);
  const match = /^([0-9a-f]{64}) /.exec(result.stdout);
  assert.ok(match, `unexpected sha256sum output ${JSON.stringify(result.stdout)}`);
  return match[1]!;
}

describe('sha256File', () => {
  let dir: string;
  const files = new Map<number, string>();
  before(async () => {
    dir = await temp.make('modelship-hash-');
    for (const [, size] of SIZES) {
      const path = join(dir, `file-${size}.bin`);
      await writeFile(path, seededBytes(`size-${size}`, size));
      files.set(size, path);
    }
  });

  test('the chunk size is 1 MiB (the boundaries below are chosen around it)', () => {
    assert.equal(HASH_CHUNK_BYTES, MiB);
  });

  for (const [label, size] of SIZES) {
    test(`${label}: equals the node:crypto one-shot hash and sha256sum, and reports the size`, async () => {
      const path = files.get(size)!;
      const bytes = await readFile(path);
      assert.equal(bytes.length, size);
      const oneShot = createHash('sha256').update(bytes).digest('hex');
      const result = await sha256File(path);
      assert.deepEqual(result, { sha256: oneShot, size });
      assert.equal(result.sha256, sha256sum(path));
      assert.equal(sha256Hex(bytes), oneShot);
    });
  }

  test('known vectors: empty and "abc"', async () => {
    assert.equal((await sha256File(files.get(0)!)).sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const abc = join(dir, 'abc.txt');
    await writeFile(abc, 'abc');
    assert.equal((await sha256File(abc)).sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('onProgress reports monotonically increasing bytes, one call per chunk, ending at the size', async () => {
    for (const [label, size] of SIZES.filter(([, s]) => s > 0)) {
      const reports: HashProgress[] = [];
      await sha256File(files.get(size)!, { onProgress: (p) => reports.push({ ...p }) });
      assert.equal(reports.length, Math.ceil(size / MiB), label);
      for (const [i, r] of reports.entries()) {
        assert.equal(r.bytesTotal, size, label);
        assert.ok(r.bytesDone > (reports[i - 1]?.bytesDone ?? 0), `${label}: report ${i} did not advance`);
        assert.ok(r.bytesDone <= size, label);
      }
      assert.equal(reports.at(-1)!.bytesDone, size, label);
    }
  });

  test('an empty file reports no progress and hashes to the empty digest', async () => {
    const reports: HashProgress[] = [];
    const result = await sha256File(files.get(0)!, { onProgress: (p) => reports.push(p) });
    assert.equal(result.size, 0);
    assert.deepEqual(reports, []);
  });

  test('a caller-supplied buffer (small, and reused across files) gives the same digests, in chunks of half its length', async () => {
    const buffer = Buffer.alloc(4093); // odd size: chunk edges fall everywhere; its halves are 2046 bytes
    for (const [label, size] of SIZES) {
      const path = files.get(size)!;
      const reports: number[] = [];
      const result = await sha256File(path, { buffer, onProgress: (p) => reports.push(p.bytesDone) });
      assert.equal(result.sha256, sha256sum(path), label);
      assert.equal(reports.length, Math.ceil(size / 2046), label);
      if (size > 0) assert.equal(reports.at(-1), size, label);
    }
  });

  test('an already-aborted signal stops it before reading (AbortError)', async () => {
    const controller = new AbortController();
    controller.abort();
    const reports: HashProgress[] = [];
    await assert.rejects(sha256File(files.get(5 * MiB + 12_345)!, { signal: controller.signal, onProgress: (p) => reports.push(p) }), { name: 'AbortError' });
    assert.equal(reports.length, 0);
  });

  test('aborting mid-file stops at the next chunk (AbortError), well before the end', async () => {
    const size = 5 * MiB + 12_345;
    const controller = new AbortController();
    const reports: number[] = [];
    await assert.rejects(
      sha256File(files.get(size)!, {
        signal: controller.signal,
        onProgress: (p) => {
          reports.push(p.bytesDone);
          if (p.bytesDone >= 2 * MiB) controller.abort();
        },
      }),
      { name: 'AbortError' },
    );
    assert.deepEqual(reports, [MiB, 2 * MiB]);
  });

  test('an abort reason is passed through', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    controller.abort(reason);
    await assert.rejects(sha256File(files.get(1)!, { signal: controller.signal }), (err) => err === reason);
  });

  test('aborted and failed runs close their file handles', { skip: !existsSync('/proc/self/fd') }, async () => {
    const openFds = async () => (await readdir('/proc/self/fd')).length;
    const before = await openFds();
    for (let i = 0; i < 50; i++) {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(sha256File(files.get(MiB)!, { signal: controller.signal }), { name: 'AbortError' });
    }
    assert.ok((await openFds()) <= before + 2, 'file descriptors leaked on abort');
  });

  test('a byte range hashes exactly those bytes, whatever the chunk size (shards)', async () => {
    const size = 5 * MiB + 12_345;
    const bytes = await readFile(files.get(size)!);
    const ranges = [[0, 0], [0, 1], [1, MiB + 1], [MiB - 3, 3 * MiB + 7], [4 * MiB, size]] as const;
    for (const buffer of [undefined, Buffer.alloc(4093)]) {
      for (const [start, end] of ranges) {
        const result = await sha256File(files.get(size)!, { range: { start, end }, ...(buffer ? { buffer } : {}) });
        assert.deepEqual(result, { sha256: sha256Hex(bytes.subarray(start, end)), size: end - start }, `[${start}, ${end})`);
      }
    }
    // A range past the end of the file reads what is there: the caller sees the short size.
    assert.equal((await sha256File(files.get(size)!, { range: { start: size - 10, end: size + 100 } })).size, 10);
  });

  test('once it settles, even by a throwing callback, no read is left writing into the caller buffer', async () => {
    const path = files.get(5 * MiB + 12_345)!;
    const buffer = Buffer.alloc(2 * 64 * 1024);
    const failure = new Error('callback failed');
    let calls = 0;
    await assert.rejects(
      sha256File(path, {
        buffer,
        onProgress: () => {
          if (++calls === 3) throw failure;
        },
      }),
      (err) => err === failure,
    );
    // Chunk 3 sits in the first half; the read of chunk 4 into the second half was in flight when
    // the callback threw, and must have landed before the rejection, not after.
    const settled = Buffer.from(buffer);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(buffer.equals(settled), 'the buffer changed after sha256File settled');
    const bytes = await readFile(path);
    const K64 = 64 * 1024;
    assert.ok(buffer.subarray(0, K64).equals(bytes.subarray(2 * K64, 3 * K64)), 'chunk 3 is in the first half');
    assert.ok(buffer.subarray(K64).equals(bytes.subarray(3 * K64, 4 * K64)), 'chunk 4 was read ahead into the second half');
  });

  test('a missing file rejects with ENOENT', async () => {
    await assert.rejects(sha256File(join(dir, 'missing.bin')), { code: 'ENOENT' });
  });
});

/** Names chosen so that per-directory walking, UTF-16 order and locale order all disagree with C byte order. */
const TREE: Readonly<Record<string, string>> = {
  'B.txt': 'upper-case B\n',
  'a.txt': 'lower-case a\n',
  'é.txt': 'e acute (2 bytes in UTF-8)\n',
  'ｱ.txt': 'halfwidth katakana U+FF71 (3 bytes, BMP above the surrogates)\n',
  '😀.bin': 'emoji U+1F600 (4 bytes, a surrogate pair in UTF-16)\n',
  'with space.txt': 'a space in the name\n',
  'empty': '',
  'sub/Z': 'nested upper-case\n',
  'sub/dir/deep.bin': 'two levels down\n',
  'sub/dir/ünïcode/ñ.json': '{"deep": true}\n',
  'sub-dir/x': "'-' (0x2d) sorts before '/' (0x2f): sub-dir/x comes before sub/...\n",
  'sub.txt': "'.' (0x2e) sorts between '-' and '/'\n",
  '.hidden': 'dot files are model files too\n',
  'weights/layer-10.bin': 'ten\n',
  'weights/layer-2.bin': 'two (bytewise after layer-10)\n',
};

describe('root digest (modelship-root-v1)', () => {
  let modelDir: string;
  before(async () => {
    modelDir = join(await temp.make('modelship-root-'), 'model');
    for (const [rel, contents] of Object.entries(TREE)) {
      await mkdir(join(modelDir, rel, '..'), { recursive: true });
      await writeFile(join(modelDir, rel), contents);
    }
  });

  async function ourDigests() {
    const listed = await listModelFiles(modelDir);
    const digests = [];
    for (const f of listed) digests.push({ path: f.path, sha256: (await sha256File(join(modelDir, f.path))).sha256 });
    return { listed, digests };
  }

  test('equals the documented coreutils recipe on nested folders with non-ASCII names', async () => {
    const { digests } = await ourDigests();
    assert.equal(digests.length, Object.keys(TREE).length);
    const recipe = runShell("find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum", { cwd: modelDir });
    assert.equal(recipe.status, 0, recipe.stderr);
    assert.match(recipe.stdout, /^[0-9a-f]{64} {2}-\n$/);
    assert.equal(rootDigest(digests), recipe.stdout.slice(0, 64));
  });

  test('the lines hashed are exactly what sha256sum prints, in LC_ALL=C sort order', async () => {
    const { digests } = await ourDigests();
    const lines = runShell("find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum", { cwd: modelDir });
    assert.equal(lines.status, 0, lines.stderr);
    assert.equal(rootDigestLines(digests), lines.stdout);
    // Input order does not matter: the rule sorts.
    assert.equal(rootDigestLines([...digests].reverse()), lines.stdout);
    assert.equal(rootDigest([...digests].reverse()), sha256Hex(lines.stdout));
  });

  test('a one-byte change in any file, or a renamed file, changes the root', async () => {
    const { digests } = await ourDigests();
    const root = rootDigest(digests);
    const changedContent = digests.map((d, i) => (i === 3 ? { ...d, sha256: sha256Hex('something else') } : d));
    assert.notEqual(rootDigest(changedContent), root);
    const renamed = digests.map((d, i) => (i === 3 ? { ...d, path: `${d.path}x` } : d));
    assert.notEqual(rootDigest(renamed), root);
    assert.notEqual(rootDigest(digests.slice(1)), root);
  });

  test("listModelFiles returns the same C byte order as `LC_ALL=C sort`", async () => {
    const { listed } = await ourDigests();
    const sorted = runShell("find . -type f -printf '%P\\n' | LC_ALL=C sort", { cwd: modelDir });
    assert.equal(sorted.status, 0, sorted.stderr);
    assert.deepEqual(listed.map((f) => f.path), sorted.stdout.split('\n').filter(Boolean));
    for (const f of listed) assert.equal(f.size, Buffer.byteLength(TREE[f.path]!), f.path);
  });

  test("orders by UTF-8 bytes: 'B' < 'a' < 'é' < 'ｱ' < '😀', and 'sub-dir/x' < 'sub.txt' < 'sub/Z'", () => {
    const names = ['😀', 'é', 'a', 'ｱ', 'B', 'sub/Z', 'sub.txt', 'sub-dir/x'];
    const expected = ['B', 'a', 'sub-dir/x', 'sub.txt', 'sub/Z', 'é', 'ｱ', '😀'];
    assert.deepEqual([...names].sort(compareCanonicalPaths), expected);
    // JavaScript's default (UTF-16) order puts the emoji before U+FF71; byte order must not.
    assert.deepEqual([...names].sort().slice(-2), ['😀', 'ｱ']);
    const lines = rootDigestLines(names.map((path) => ({ path, sha256: sha256Hex(path) })));
    assert.deepEqual(lines.trimEnd().split('\n').map((l) => l.slice(66)), expected);
    assert.ok(compareCanonicalPaths('B', 'a') < 0);
    assert.ok(compareCanonicalPaths('a', 'é') < 0);
    assert.equal(compareCanonicalPaths('é', 'é'), 0);
  });

  test('each line is "<sha256>  <path>\\n"', () => {
    const sha = sha256Hex('x');
    assert.equal(rootDigestLines([{ path: 'dir/é file', sha256: sha }]), `${sha}  dir/é file\n`);
    assert.equal(rootDigest([]), sha256Hex(''));
  });

  test('rejects a path listed twice and digests that are not lowercase SHA-256 hex', () => {
    const sha = sha256Hex('x');
    assert.throws(() => rootDigest([{ path: 'a', sha256: sha }, { path: 'a', sha256: sha }]), /"a" is listed twice/);
    assert.throws(() => rootDigest([{ path: 'a', sha256: sha.toUpperCase() }]), /not lowercase SHA-256 hex/);
    assert.throws(() => rootDigest([{ path: 'a', sha256: sha.slice(1) }]), /not lowercase SHA-256 hex/);
    assert.throws(() => rootDigest([{ path: 'a', sha256: `${sha}\n` }]), /not lowercase SHA-256 hex/);
  });
});

describe('canonical path rules', () => {
  const rejected: ReadonlyArray<[string, RegExp]> = [
    ['', /empty path/],
    ['/abs', /absolute paths are not allowed/],
    ['/', /absolute paths/],
    ['a/../b', /'\.\.' segments/],
    ['..', /'\.\.' segments/],
    ['../a', /'\.\.' segments/],
    ['a/./b', /'\.' and '\.\.' segments/],
    ['./a', /'\.' and '\.\.' segments/],
    ['.', /'\.' and '\.\.' segments/],
    ['a//b', /empty, '\.' and '\.\.' segments/],
    ['a/', /empty, '\.'/],
    ['a\nb', /control characters/],
    ['a\rb', /control characters/],
    ['a\tb', /control characters/],
    ['a\u0000b', /control characters/],
    ['a\u007fb', /control characters/],
    ['a\\b', /backslashes/],
    ['\\abs', /backslashes/],
    ['C:\\model.onnx', /backslashes/],
  ];

  for (const [path, reason] of rejected) {
    test(`rejects ${JSON.stringify(path)}`, () => {
      const problem = canonicalPathProblem(path);
      assert.ok(problem, `${JSON.stringify(path)} was accepted`);
      assert.match(problem, reason);
      assert.throws(() => assertCanonicalPath(path), (err: unknown) => err instanceof Error && err.message.includes(JSON.stringify(path)) && reason.test(err.message));
      // The root digest refuses it too (a newline would forge a sha256sum line).
      assert.throws(() => rootDigest([{ path, sha256: sha256Hex('x') }]), reason);
    });
  }

  test('accepts ordinary relative paths', () => {
    for (const path of ['a', 'a/b', 'é/ñ.onnx', '.hidden', 'a..b', '...', 'with space', 'x/y/z/w.bin', 'a:b', '😀']) {
      assert.equal(canonicalPathProblem(path), undefined, path);
      assert.doesNotThrow(() => assertCanonicalPath(path));
    }
  });

  test('the sha256sum line forgery the rule prevents is real', () => {
    // Without the rule, a file named "a\n<hash>  b" would add a line that looks like another file.
    const fake = `a\n${sha256Hex('forged')}  b`;
    assert.equal(rootDigestLines([{ path: 'a', sha256: sha256Hex('x') }]).split('\n').length, 2);
    assert.throws(() => rootDigestLines([{ path: fake, sha256: sha256Hex('x') }]), /control characters/);
  });
});

describe('listModelFiles', () => {
  test('skips .git (at any depth) and the other ignored names', async () => {
    const root = join(await temp.make('modelship-list-'), 'model');
    await mkdir(join(root, '.git', 'objects'), { recursive: true });
    await writeFile(join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(root, '.git', 'objects', 'x'), 'blob');
    await mkdir(join(root, 'sub', '.git'), { recursive: true });
    await writeFile(join(root, 'sub', '.git', 'config'), '[core]\n');
    await mkdir(join(root, '.github'), { recursive: true });
    await writeFile(join(root, '.github', 'ci.yml'), 'on: push\n');
    await writeFile(join(root, '.gitattributes'), '*.onnx filter=lfs\n');
    await writeFile(join(root, '.gitignore'), '*.tmp\n');
    await writeFile(join(root, '.DS_Store'), 'junk');
    await writeFile(join(root, 'model.onnx'), 'onnx');
    await writeFile(join(root, 'sub', 'vocab.txt'), 'vocab');
    await writeFile(join(root, '.gitkeep'), ''); // not ignored: only exact names are
    assert.deepEqual(await listModelFiles(root), [
      { path: '.gitkeep', size: 0 },
      { path: 'model.onnx', size: 4 },
      { path: 'sub/vocab.txt', size: 5 },
    ]);
    assert.deepEqual([...IGNORED_NAMES].sort(), ['.DS_Store', '.git', '.gitattributes', '.github', '.gitignore']);
  });

  test('refuses a symlink to a file, naming it, and does not follow it', async () => {
    const base = await temp.make('modelship-list-link-');
    const root = join(base, 'model');
    await mkdir(root);
    await writeFile(join(base, 'outside.txt'), 'secret');
    await writeFile(join(root, 'model.onnx'), 'onnx');
    await symlink(join(base, 'outside.txt'), join(root, 'link.txt'));
    await assert.rejects(listModelFiles(root), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(err.message.includes(join(root, 'link.txt')), err.message);
      assert.match(err.message, /is a symbolic link/);
      return true;
    });
  });

  test('refuses a symlink to a directory and a dangling symlink', async () => {
    const base = await temp.make('modelship-list-dirlink-');
    const root = join(base, 'model');
    await mkdir(join(base, 'elsewhere'), { recursive: true });
    await writeFile(join(base, 'elsewhere', 'w.bin'), 'w');
    await mkdir(join(root, 'sub'), { recursive: true });
    await symlink(join(base, 'elsewhere'), join(root, 'sub', 'linked'));
    await assert.rejects(listModelFiles(root), /sub\/linked is a symbolic link/);
    const root2 = join(base, 'model2');
    await mkdir(root2);
    await symlink(join(base, 'nowhere'), join(root2, 'dangling'));
    await assert.rejects(listModelFiles(root2), /dangling is a symbolic link/);
  });

  test('with allowSymlinks: follows links to files inside the root, still refuses escapes, folders and dangling links', async () => {
    const base = await temp.make('modelship-list-allow-');
    const root = join(base, 'model');
    await mkdir(join(root, 'shards'), { recursive: true });
    await writeFile(join(root, 'shards', 'w0.bin'), 'weights!');
    await writeFile(join(base, 'outside.txt'), 'secret');
    await symlink(join(root, 'shards', 'w0.bin'), join(root, 'current.bin'));
    assert.deepEqual(await listModelFiles(root, undefined, { allowSymlinks: true }), [
      { path: 'current.bin', size: 8 },
      { path: 'shards/w0.bin', size: 8 },
    ]);
    await symlink('../../outside.txt', join(root, 'shards', 'escape.txt'));
    await assert.rejects(listModelFiles(root, undefined, { allowSymlinks: true }), /shards\/escape\.txt is a symbolic link that leaves the model root/);
    const root2 = join(base, 'model2');
    await mkdir(join(root2, 'real'), { recursive: true });
    await symlink(join(root2, 'real'), join(root2, 'linked-dir'));
    await assert.rejects(listModelFiles(root2, undefined, { allowSymlinks: true }), /linked-dir links to something that is not a regular file/);
    const root3 = join(base, 'model3');
    await mkdir(root3);
    await symlink(join(root3, 'nowhere'), join(root3, 'dangling'));
    await assert.rejects(listModelFiles(root3, undefined, { allowSymlinks: true }), /dangling is a symbolic link that leaves the model root \(dangling\)/);
  });

  test('refuses names the root digest cannot express (newline, backslash) and special files', async () => {
    const base = await temp.make('modelship-list-names-');
    const nl = join(base, 'nl');
    await mkdir(nl);
    await writeFile(join(nl, 'a\nb'), 'x');
    await assert.rejects(listModelFiles(nl), /control characters/);
    const bs = join(base, 'bs');
    await mkdir(bs);
    await writeFile(join(bs, 'a\\b'), 'x');
    await assert.rejects(listModelFiles(bs), /backslashes/);
    const fifo = join(base, 'fifo');
    await mkdir(fifo);
    const made = run('mkfifo', [join(fifo, 'pipe')]);
    assert.equal(made.status, 0, made.stderr);
    await assert.rejects(listModelFiles(fifo), /pipe is not a regular file/);
  });

  test('an empty folder lists nothing; a missing folder rejects', async () => {
    const root = await temp.make('modelship-list-empty-');
    assert.deepEqual(await listModelFiles(root), []);
    await assert.rejects(listModelFiles(join(root, 'missing')), { code: 'ENOENT' });
  });
});
