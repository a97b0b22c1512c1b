import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { parsePth, readPth } from '../../src/io/pth.js';
import { type RawTensor, toFloat32 } from '../../src/io/tensor.js';
import { PoisonlabError } from '../../src/util/errors.js';
import {
  concat,
  f32Bytes,
  legacyHeader,
  legacyKeys,
  legacyStorage,
  Pickle,
  type PickledTensor,
  stateDictPickle,
  torchZip,
} from './torch-writer.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const values = (t: RawTensor | undefined) => Array.from(toFloat32(t!));

/** What PyTorch 1.13 shows for the state_dict of fixtures/make-torch-fixtures.py. */
function checkMixed(tensors: Map<string, RawTensor>): void {
  const a = [...Array(24).keys()];
  const at = (i: number, j: number, k: number) => a[i * 12 + j * 4 + k]!;
  const transposed: number[] = [];
  for (let k = 0; k < 4; k++)
    for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) transposed.push(at(i, j, k));
  const sliced: number[] = [];
  for (let i = 0; i < 2; i++)
    for (let j = 1; j < 3; j++) for (let k = 0; k < 4; k += 2) sliced.push(at(i, j, k));
  const expect: [string, string, number[], number[]][] = [
    ['contig', 'F32', [2, 3, 4], a],
    ['transposed', 'F32', [4, 3, 2], transposed],
    ['sliced', 'F32', [2, 2, 2], sliced],
    ['half', 'F16', [4], [1.5, -2.25, 65504, 1.1920928955078125e-7]],
    ['bf16', 'BF16', [3], [1.5, -2.25, 3.00405527047391e38]],
    ['long', 'I64', [], [7]],
    ['int', 'I32', [2], [1, -2]],
    ['byte', 'U8', [2], [1, 255]],
    ['bool', 'BOOL', [2], [1, 0]],
    ['double', 'F64', [1, 1], [Math.fround(1 / 3)]],
    ['param', 'F32', [2], [1, 1]],
    ['empty', 'F32', [0, 3], []],
  ];
  assert.deepEqual(
    [...tensors.keys()],
    expect.map((e) => e[0]),
  );
  for (const [name, dtype, shape, v] of expect) {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, dtype, name);
    assert.deepEqual(t.shape, shape, name);
    assert.deepEqual(values(t), v.map(Math.fround), name);
  }
}

describe('PyTorch checkpoints', () => {
  test('zip format of PyTorch 1.13: views, transposes, offsets and every dtype come out as PyTorch shows them', () => {
    const sd = readPth(new URL('torch113-mixed.pth', FIXTURES).pathname);
    assert.equal(sd.format, 'zip');
    checkMixed(sd.tensors);
  });

  test('legacy format (PyTorch < 1.6, written by 1.13 with _use_new_zipfile_serialization=False)', () => {
    const sd = readPth(new URL('torch113-mixed-legacy.pth', FIXTURES).pathname);
    assert.equal(sd.format, 'legacy');
    checkMixed(sd.tensors);
  });

  test('big-endian storages (byteorder: big) are swapped; any prefix; .data/version; a Parameter', () => {
    const tensors: PickledTensor[] = [
      {
        name: 'w',
        dtype: 'F32',
        key: '0',
        storageNumel: 2,
        offset: 0,
        size: [2],
        stride: [1],
        parameter: true,
      },
    ];
    const big = new Uint8Array([0x3f, 0xc0, 0, 0, 0xc0, 0x10, 0, 0]); // 1.5, -2.25 big-endian
    const bytes = torchZip(
      stateDictPickle(tensors),
      { '0': big },
      {
        prefix: 'my_model',
        byteorder: 'big',
        version: null,
        extra: { 'my_model/.data/version': new TextEncoder().encode('3\n') },
      },
    );
    assert.deepEqual(values(parsePth(bytes, 'x.pth').tensors.get('w')), [1.5, -2.25]);
  });

  test("a state_dict wrapped with other values ({'net': state_dict, 'acc': ..., 'epoch': ...}) is found", () => {
    const inner = stateDictPickle([
      { name: 'w', dtype: 'F32', key: '0', storageNumel: 1, offset: 0, size: [1], stride: [1] },
    ]);
    // {'acc': 0.5, 'net': <state_dict>}: splice the state_dict pickle (without PROTO and STOP) into a dict
    const p = new Pickle().proto(2).emptyDict().mark().str('acc').int(1).str('net');
    p.op(...inner.subarray(2, inner.length - 1));
    const bytes = torchZip(p.setitems().stop().bytes(), { '0': f32Bytes([4]) });
    const sd = parsePth(bytes, 'x.pth');
    assert.equal(sd.wrappedIn, 'net');
    assert.deepEqual(values(sd.tensors.get('w')), [4]);
  });

  test('legacy view metadata selects a slice of the root storage', () => {
    const tensors: PickledTensor[] = [
      {
        name: 'v',
        dtype: 'F32',
        key: 'r',
        storageNumel: 4,
        offset: 1,
        size: [2],
        stride: [1],
        view: ['v1', 1, 3],
      },
    ];
    const bytes = concat([
      legacyHeader(),
      stateDictPickle(tensors, { legacy: true }),
      legacyKeys(['r']),
      legacyStorage(4, f32Bytes([1, 2, 3, 4])),
    ]);
    // root [1, 2, 3, 4] -> view from element 1: [2, 3, 4] -> tensor offset 1: [3, 4]
    assert.deepEqual(values(parsePth(bytes, 'x.pth').tensors.get('v')), [3, 4]);
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals: each its own test. A refused file gives one line naming it and what was expected.

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parsePth(bytes, 'x.pth'),
    (e: unknown) => {
      assert.ok(e instanceof PoisonlabError, String(e));
      assert.match(e.message, /^x\.pth: /);
      assert.match(e.message, pattern);
      assert.match(e.message, /expected/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

/** The pieces of one `_rebuild_tensor_v2(...)` entry; each may be replaced to make it odd. */
interface Parts {
  pid?: (p: Pickle) => void;
  offset?: (p: Pickle) => void;
  size?: (p: Pickle) => void;
  stride?: (p: Pickle) => void;
  requiresGrad?: (p: Pickle) => void;
  hooks?: (p: Pickle) => void;
  /** Replace the whole argument list. */
  args?: (p: Pickle) => void;
  callable?: [string, string];
}

const floatPid = (p: Pickle) =>
  p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(4).tuple();

/** `_rebuild_tensor_v2(...)` (or parts.callable) of storage '0'. */
function tensorCall(p: Pickle, parts: Parts = {}): void {
  p.global(...(parts.callable ?? ['torch._utils', '_rebuild_tensor_v2'])).mark();
  if (parts.args) parts.args(p);
  else {
    (parts.pid ?? floatPid)(p);
    p.persid();
    (parts.offset ?? ((q) => q.int(0)))(p);
    (parts.size ?? ((q) => q.ints([4])))(p);
    (parts.stride ?? ((q) => q.ints([1])))(p);
    (parts.requiresGrad ?? ((q) => q.bool(false)))(p);
    (parts.hooks ?? ((q) => q.get(0).emptyTuple().reduce()))(p);
  }
  p.tuple().reduce();
}

function entry(p: Pickle, name: string, parts: Parts = {}): void {
  p.str(name);
  tensorCall(p, parts);
}

const parameter = (args: (p: Pickle) => void) =>
  zipOf(
    sdPickle((p) => {
      p.str('w').global('torch._utils', '_rebuild_parameter').mark();
      args(p);
      p.tuple().reduce();
    }),
  );

/** A state_dict pickle: OrderedDict (memo 0) filled with `body`'s entries. */
function sdPickle(body: (p: Pickle) => void, tail?: (p: Pickle) => void): Uint8Array {
  const p = new Pickle().proto(2).global('collections', 'OrderedDict').put(0).emptyTuple().reduce().mark();
  body(p);
  p.setitems();
  tail?.(p);
  return p.stop().bytes();
}

const oneTensor = (parts: Parts = {}) => sdPickle((p) => entry(p, 'w', parts));
const zipOf = (pkl: Uint8Array, storages: Record<string, Uint8Array> = { '0': f32Bytes([1, 2, 3, 4]) }) =>
  torchZip(pkl, storages);
const STORAGE = { '0': f32Bytes([1, 2, 3, 4]) };

const ZIP_REFUSALS: [string, () => Uint8Array, RegExp][] = [
  [
    'unknown leading bytes',
    () => new TextEncoder().encode('hello world'),
    /not a PyTorch checkpoint \(unknown leading bytes/,
  ],
  [
    'a tar archive (PyTorch < 0.4)',
    () => {
      const b = new Uint8Array(600);
      b.set(new TextEncoder().encode('ustar'), 257);
      return b;
    },
    /a tar archive, the format of PyTorch < 0\.4, is not supported/,
  ],
  ['a corrupt zip archive', () => zipOf(oneTensor()).subarray(0, 60), /not a valid zip archive/],
  [
    'a zip without data.pkl',
    () => zipSync({ 'archive/version': new TextEncoder().encode('3\n') }),
    /no <prefix>\/data\.pkl in the zip archive/,
  ],
  [
    'a zip with two data.pkl',
    () => torchZip(oneTensor(), STORAGE, { extra: { 'other/data.pkl': oneTensor() } }),
    /more than one <prefix>\/data\.pkl/,
  ],
  ['a zip without version', () => torchZip(oneTensor(), STORAGE, { version: null }), /no archive\/version/],
  [
    'a version that is not an integer',
    () => torchZip(oneTensor(), STORAGE, { version: 'x' }),
    /archive\/version is 'x', expected an integer/,
  ],
  [
    'an unknown byte order',
    () => torchZip(oneTensor(), STORAGE, { byteorder: 'middle' }),
    /byteorder is 'middle', expected 'little' or 'big'/,
  ],
  [
    'bytes after the pickle',
    () => zipOf(concat([oneTensor(), new Uint8Array([0x4e])])),
    /1 bytes after STOP \(expected one pickle\)/,
  ],
  [
    'a storage missing from the archive',
    () => zipOf(oneTensor(), {}),
    /storage '0' is missing \(expected an entry archive\/data\/0\)/,
  ],
  [
    'a storage shorter than its persistent id says',
    () => zipOf(oneTensor(), { '0': f32Bytes([1, 2]) }),
    /archive\/data\/0 has 8 bytes, expected 16/,
  ],
  [
    'a malicious pickle: os.system',
    () =>
      zipOf(new Pickle().proto(2).global('os', 'system').str('echo pwned').op(0x85).reduce().stop().bytes()),
    /global 'os\.system' is not allowed/,
  ],
  [
    'builtins.exec named by STACK_GLOBAL',
    () => zipOf(new Pickle().proto(4).str('builtins').str('exec').op(0x93).stop().bytes()),
    /global 'builtins\.exec' is not allowed/,
  ],
  [
    'a storage type that is not a float or integer storage (torch.ComplexFloatStorage)',
    () =>
      zipOf(
        oneTensor({
          pid: (p) =>
            p.mark().str('storage').global('torch', 'ComplexFloatStorage').str('0').str('cpu').int(4).tuple(),
        }),
      ),
    /global 'torch\.ComplexFloatStorage' is not allowed/,
  ],
  [
    'torch.UntypedStorage',
    () =>
      zipOf(
        oneTensor({
          pid: (p) =>
            p.mark().str('storage').global('torch', 'UntypedStorage').str('0').str('cpu').int(16).tuple(),
        }),
      ),
    /global 'torch\.UntypedStorage' is not allowed/,
  ],
  [
    'another tensor rebuild (torch._utils._rebuild_tensor_v3)',
    () => zipOf(oneTensor({ callable: ['torch._utils', '_rebuild_tensor_v3'] })),
    /global 'torch\._utils\._rebuild_tensor_v3' is not allowed/,
  ],
  [
    'a persistent id that is not a tuple',
    () => zipOf(oneTensor({ pid: (p) => p.str('storage') })),
    /persistent id: expected \('storage', storage type, key, location, numel\), got a str/,
  ],
  [
    'a persistent id of the wrong length',
    () =>
      zipOf(
        oneTensor({ pid: (p) => p.mark().str('storage').global('torch', 'FloatStorage').str('0').tuple() }),
      ),
    /got a tuple of 3 items/,
  ],
  [
    "a persistent id that is not a 'storage'",
    () =>
      zipOf(
        oneTensor({
          pid: (p) =>
            p.mark().str('module').global('torch', 'FloatStorage').str('0').str('cpu').int(4).tuple(),
        }),
      ),
    /persistent id: expected \('storage'/,
  ],
  [
    'a storage type that is another allowed global',
    () => zipOf(oneTensor({ pid: (p) => p.mark().str('storage').get(0).str('0').str('cpu').int(4).tuple() })),
    /storage type collections\.OrderedDict is not a float, half or integer storage/,
  ],
  [
    'a storage key that is not a str',
    () =>
      zipOf(
        oneTensor({
          pid: (p) =>
            p.mark().str('storage').global('torch', 'FloatStorage').int(0).str('cpu').int(4).tuple(),
        }),
      ),
    /storage key: expected a str, got a int/,
  ],
  [
    'a storage location that is not a str',
    () =>
      zipOf(
        oneTensor({
          pid: (p) => p.mark().str('storage').global('torch', 'FloatStorage').str('0').none().int(4).tuple(),
        }),
      ),
    /storage location: expected a str, got a None/,
  ],
  [
    'a storage size that is not a count',
    () =>
      zipOf(
        oneTensor({
          pid: (p) =>
            p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').str('4').tuple(),
        }),
      ),
    /storage size: expected a non-negative element count/,
  ],
  [
    'one storage named with two types',
    () =>
      zipOf(
        sdPickle((p) => {
          entry(p, 'a');
          entry(p, 'b', {
            pid: (q) =>
              q.mark().str('storage').global('torch', 'HalfStorage').str('0').str('cpu').int(4).tuple(),
          });
        }),
      ),
    /storage '0' is named twice with different types or sizes/,
  ],
  [
    '_rebuild_tensor_v2 with 5 arguments',
    () => zipOf(oneTensor({ args: (p) => p.int(0).int(0).int(0).int(0).int(0) })),
    /_rebuild_tensor_v2: expected 6 or 7 arguments, got 5/,
  ],
  [
    '_rebuild_tensor_v2 of something that is not a storage',
    () =>
      zipOf(
        oneTensor({
          args: (p) => p.str('x').int(0).ints([4]).ints([1]).bool(false).get(0).emptyTuple().reduce(),
        }),
      ),
    /argument 1: expected a storage, got a str/,
  ],
  [
    'a negative storage offset',
    () => zipOf(oneTensor({ offset: (p) => p.op(0x4a, 0xff, 0xff, 0xff, 0xff) })),
    /argument 2: expected a non-negative storage offset/,
  ],
  [
    'a size that is not a tuple of ints',
    () => zipOf(oneTensor({ size: (p) => p.str('4') })),
    /argument 3: expected a tuple of non-negative sizes/,
  ],
  [
    'strides of another rank than the size',
    () => zipOf(oneTensor({ stride: (p) => p.ints([1, 1]) })),
    /argument 4: expected a tuple of 1 non-negative strides/,
  ],
  [
    'requires_grad that is not a bool',
    () => zipOf(oneTensor({ requiresGrad: (p) => p.int(0) })),
    /argument 5: expected requires_grad, a bool/,
  ],
  [
    'backward hooks that are not a dict',
    () => zipOf(oneTensor({ hooks: (p) => p.none() })),
    /argument 6: expected backward hooks, an OrderedDict/,
  ],
  [
    'a tensor reaching past its storage (size)',
    () => zipOf(oneTensor({ size: (p) => p.ints([5]) })),
    /tensor 'w' of shape \[5\] \(offset 0, strides \[1\]\) reaches element 4 of a storage of 4/,
  ],
  [
    'a tensor reaching past its storage (offset and strides)',
    () => zipOf(oneTensor({ offset: (p) => p.int(1), size: (p) => p.ints([2]), stride: (p) => p.ints([3]) })),
    /reaches element 4 of a storage of 4 \(expected it inside its storage\)/,
  ],
  [
    '_rebuild_parameter with 2 arguments',
    () => parameter((p) => p.int(0).bool(false)),
    /_rebuild_parameter: expected 3 arguments, got 2/,
  ],
  [
    '_rebuild_parameter of something that is not a tensor',
    () => parameter((p) => p.int(0).bool(false).get(0).emptyTuple().reduce()),
    /_rebuild_parameter: argument 1: expected a tensor, got a int/,
  ],
  [
    '_rebuild_parameter with requires_grad that is not a bool',
    () =>
      parameter((p) => {
        tensorCall(p);
        p.int(1).get(0).emptyTuple().reduce();
      }),
    /_rebuild_parameter: argument 2: expected requires_grad, a bool/,
  ],
  [
    '_rebuild_parameter with backward hooks that are not a dict',
    () =>
      parameter((p) => {
        tensorCall(p);
        p.bool(false).none();
      }),
    /_rebuild_parameter: argument 3: expected backward hooks, an OrderedDict/,
  ],
  [
    'OrderedDict called with arguments',
    () =>
      zipOf(
        new Pickle()
          .proto(2)
          .global('collections', 'OrderedDict')
          .emptyList()
          .op(0x85)
          .reduce()
          .stop()
          .bytes(),
      ),
    /collections\.OrderedDict: expected no arguments, got 1/,
  ],
  [
    'BUILD on a tensor',
    () =>
      zipOf(
        sdPickle((p) => {
          entry(p, 'w');
          p.emptyDict().build();
        }),
      ),
    /BUILD \(setting the state\) of a tensor with a dict is not allowed/,
  ],
  [
    'BUILD of the state_dict with a state that is not a dict',
    () =>
      zipOf(
        sdPickle(
          (p) => entry(p, 'w'),
          (p) => p.mark().tuple().build(),
        ),
      ),
    /BUILD \(setting the state\) of a OrderedDict with a tuple is not allowed/,
  ],
  [
    'BUILD of the state_dict with a non-str attribute name',
    () =>
      zipOf(
        sdPickle(
          (p) => entry(p, 'w'),
          (p) => p.emptyDict().int(1).int(2).setitem().build(),
        ),
      ),
    /BUILD \(setting the state\) of a OrderedDict with a dict is not allowed/,
  ],
  [
    'a pickle holding a list, not a dict',
    () => zipOf(new Pickle().proto(2).emptyList().stop().bytes()),
    /the pickle holds a list \(expected a state_dict: a dict of str to tensors\)/,
  ],
  [
    'a state_dict entry that is not a tensor',
    () =>
      zipOf(
        sdPickle((p) => {
          entry(p, 'w');
          p.str('step').int(3);
        }),
      ),
    /entry "step" is a int \(expected a state_dict: a dict of str to tensors, or one under 'state_dict', /,
  ],
  [
    'a state_dict key that is not a str',
    () =>
      zipOf(
        sdPickle((p) => {
          p.int(0);
          tensorCall(p);
        }),
      ),
    /key 0 is a int, not a str \(expected a state_dict: a dict of str to tensors/,
  ],
];

describe('PyTorch checkpoints are refused, in one line naming the file and what was expected', () => {
  for (const [name, make, pattern] of ZIP_REFUSALS) test(name, () => refused(make(), pattern));
});

/** A legacy file from its parts, each replaceable. */
function legacy(
  parts: { header?: Uint8Array; pickle?: Uint8Array; keys?: Uint8Array; storages?: Uint8Array } = {},
): Uint8Array {
  const tensors: PickledTensor[] = [
    { name: 'w', dtype: 'F32', key: 'k', storageNumel: 4, offset: 0, size: [4], stride: [1] },
  ];
  return concat([
    parts.header ?? legacyHeader(),
    parts.pickle ?? stateDictPickle(tensors, { legacy: true }),
    parts.keys ?? legacyKeys(['k']),
    parts.storages ?? legacyStorage(4, f32Bytes([1, 2, 3, 4])),
  ]);
}

const legacyPid = (rest: (p: Pickle) => void) => (p: Pickle) => {
  p.mark().str('storage').global('torch', 'FloatStorage').str('k').str('cpu').int(4);
  rest(p);
  p.tuple();
};

const LEGACY_REFUSALS: [string, () => Uint8Array, RegExp][] = [
  [
    "a leading number that is not torch's magic number",
    () => legacy({ header: legacyHeader({ magic: [1, 2, 3] }) }),
    /the leading number is not torch's magic number/,
  ],
  [
    'another legacy protocol version',
    () => legacy({ header: legacyHeader({ protocol: 1000 }) }),
    /legacy protocol version 1000, expected 1001/,
  ],
  [
    'system info that is not a dict',
    () =>
      legacy({
        header: concat([legacyHeader().subarray(0, 21), new Pickle().proto(2).int(1).stop().bytes()]),
      }),
    /system info is a int, expected a dict/,
  ],
  [
    'a big-endian writer',
    () => legacy({ header: legacyHeader({ littleEndian: false }) }),
    /written on a big-endian machine/,
  ],
  [
    'a storage key list that is not a list of str',
    () => legacy({ keys: new Pickle().proto(2).int(1).stop().bytes() }),
    /storage key list is a int, expected a list of str/,
  ],
  [
    'a storage cut before its element count',
    () => legacy({ storages: new Uint8Array(4) }),
    /storage 'k' is truncated \(expected its int64 element count\)/,
  ],
  [
    'a storage cut inside its data',
    () => legacy({ storages: legacyStorage(4, f32Bytes([1, 2])) }),
    /storage 'k' is truncated \(expected 16 bytes, 8 left\)/,
  ],
  [
    'a storage whose count differs from its persistent id',
    () => legacy({ storages: legacyStorage(3, f32Bytes([1, 2, 3])) }),
    /storage 'k' holds 3 elements, expected 4 as its persistent id says/,
  ],
  [
    'a listed storage no persistent id names',
    () => legacy({ keys: legacyKeys(['zz']) }),
    /storage 'zz' is listed but no persistent id names it/,
  ],
  [
    "a tensor's storage missing from the list",
    () => legacy({ keys: legacyKeys([]), storages: new Uint8Array(0) }),
    /storage 'k' is not in the storage key list/,
  ],
  [
    'a 5-item persistent id (the zip form) in a legacy file',
    () => legacy({ pickle: oneTensor({ pid: legacyPid(() => {}) }) }),
    /expected \('storage', storage type, key, location, numel, view\), got a tuple of 5 items/,
  ],
  [
    'view metadata that is not (key, offset, size)',
    () => legacy({ pickle: oneTensor({ pid: legacyPid((p) => p.str('v')) }) }),
    /storage view: expected None or \(view key, offset, size\)/,
  ],
  [
    'a view past the end of its storage',
    () => legacy({ pickle: oneTensor({ pid: legacyPid((p) => p.mark().str('v').int(2).int(3).tuple()) }) }),
    /storage view of 3 elements at 2 runs past its storage of 4/,
  ],
];

describe('legacy checkpoints are refused, in one line naming the file and what was expected', () => {
  for (const [name, make, pattern] of LEGACY_REFUSALS) test(name, () => refused(make(), pattern));

  test('a file that cannot be read', () => {
    assert.throws(
      () => readPth('/nonexistent/x.pth'),
      /\/nonexistent\/x\.pth: expected a PyTorch checkpoint file, found nothing there \(ENOENT/,
    );
  });
});
