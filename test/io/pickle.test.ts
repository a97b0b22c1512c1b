import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PyBytes,
  PyDict,
  PyGlobal,
  type PyList,
  PyObject,
  type PyTuple,
  type PyValue,
  type UnpicklePolicy,
  unpickle,
} from '../../src/io/pickle.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { ascii, Pickle, u32 } from './torch-writer.js';

/** A policy with one callable global (`m.make(x)` -> PyObject('made', x)), BUILD on dicts, persistent ids. */
const POLICY: UnpicklePolicy = {
  globals: new Set(['m.make', 'm.Type']),
  calls: {
    'm.make': (args, fail) => {
      if (args.items.length !== 1) fail(`expected 1 argument, got ${args.items.length}`);
      return new PyObject('made', args.items[0]);
    },
  },
  persistentLoad: (pid, fail) => {
    if (typeof pid !== 'string') fail('expected a str');
    return new PyObject('persistent', pid);
  },
  build: (obj, state) => obj instanceof PyDict && state instanceof PyDict,
  expected: 'test values',
};

const load = (bytes: Uint8Array, policy = POLICY) => unpickle(bytes, 'x.pkl', policy).value;
const p = () => new Pickle().proto(2);

function refused(bytes: Uint8Array, pattern: RegExp, policy = POLICY): void {
  assert.throws(
    () => unpickle(bytes, 'x.pkl', policy),
    (e: unknown) => {
      assert.ok(e instanceof PoisonlabError, String(e));
      assert.match(e.message, /^x\.pkl: pickle byte \d+: /);
      assert.match(e.message, pattern);
      assert.match(e.message, /\(expected test values\)$/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

describe('the restricted unpickler reads plain values', () => {
  test('ints of every width, floats, strings, bytes, None and bools', () => {
    const bytes = p()
      .mark()
      .int(7)
      .int(300)
      .int(-5)
      .op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1) // LONG1 2^64
      .op(0x8a, 1, 0xff) // LONG1 -1
      .op(0x8b, ...u32(2), 0x00, 0x80) // LONG4 -32768
      .op(0x49, ...ascii('01\n')) // INT True (protocol 0)
      .op(0x49, ...ascii('-12\n'))
      .op(0x4c, ...ascii('12345678901234567890L\n'))
      .op(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0) // BINFLOAT 1.5
      .op(0x46, ...ascii('2.5\n'))
      .str('ünï')
      .op(0x8c, 2, ...ascii('ab')) // SHORT_BINUNICODE
      .op(0x8d, 1, 0, 0, 0, 0, 0, 0, 0, ...ascii('c')) // BINUNICODE8
      .op(0x55, 2, 0xe9, 0x41) // SHORT_BINSTRING (latin-1)
      .op(0x54, ...u32(1), ...ascii('d')) // BINSTRING
      .op(0x43, 2, 1, 2) // SHORT_BINBYTES
      .op(0x42, ...u32(1), 3) // BINBYTES
      .op(0x8e, 1, 0, 0, 0, 0, 0, 0, 0, 4) // BINBYTES8
      .none()
      .bool(true)
      .bool(false)
      .tuple()
      .stop()
      .bytes();
    const v = load(bytes) as PyTuple;
    const plain = v.items.map((x) => (x instanceof PyBytes ? Array.from(x.bytes) : x));
    assert.deepEqual(plain, [
      7,
      300,
      -5,
      2n ** 64n,
      -1,
      -32768,
      true,
      -12,
      12345678901234567890n,
      1.5,
      2.5,
      'ünï',
      'ab',
      'c',
      'éA',
      'd',
      [1, 2],
      [3],
      [4],
      null,
      true,
      false,
    ]);
  });

  test('tuples, lists, dicts, the memo, MARK / POP / DUP, frames, globals, calls, persistent ids and BUILD', () => {
    const bytes = new Pickle()
      .proto(4)
      .op(0x95, 3, 0, 0, 0, 0, 0, 0, 0) // FRAME
      .emptyDict()
      .put(0)
      .mark()
      .str('t')
      .int(1)
      .op(0x85) // TUPLE1
      .str('t2')
      .int(1)
      .int(2)
      .op(0x86)
      .str('t3')
      .int(1)
      .int(2)
      .int(3)
      .op(0x87)
      .str('list')
      .emptyList()
      .int(1)
      .op(0x61) // APPEND
      .mark()
      .int(2)
      .int(3)
      .appends()
      .str('list2')
      .mark()
      .int(4)
      .op(0x6c) // LIST
      .str('dict')
      .mark()
      .int(5)
      .int(6)
      .op(0x64) // DICT
      .str('made')
      .global('m', 'make')
      .op(0x94) // MEMOIZE
      .int(9)
      .op(0x85)
      .reduce()
      .str('stack-global')
      .op(0x8c, 1, ...ascii('m'), 0x8c, 4, ...ascii('Type'), 0x93) // STACK_GLOBAL
      .str('pers')
      .str('k')
      .persid()
      .str('memo')
      .str('v')
      .op(0x70, ...ascii('7\n')) // PUT 7
      .op(0x67, ...ascii('7\n')) // GET 7
      .op(0x30) // POP
      .op(0x72, ...u32(300)) // LONG_BINPUT 300
      .op(0x6a, ...u32(300)) // LONG_BINGET 300
      .op(0x30)
      .op(0x32) // DUP
      .op(0x30)
      .setitems()
      .mark()
      .int(1)
      .op(0x31) // POP_MARK
      .emptyDict()
      .str('attr')
      .int(1)
      .setitem()
      .build()
      .stop()
      .bytes();
    const d = load(bytes) as PyDict;
    const e = d.entries;
    assert.deepEqual((e.get('t') as PyTuple).items, [1]);
    assert.deepEqual((e.get('t2') as PyTuple).items, [1, 2]);
    assert.deepEqual((e.get('t3') as PyTuple).items, [1, 2, 3]);
    assert.deepEqual((e.get('list') as PyList).items, [1, 2, 3]);
    assert.deepEqual((e.get('list2') as PyList).items, [4]);
    assert.deepEqual([...(e.get('dict') as PyDict).entries], [[5, 6]]);
    assert.deepEqual(e.get('made'), new PyObject('made', 9));
    assert.deepEqual(e.get('stack-global'), new PyGlobal('m', 'Type'));
    assert.deepEqual(e.get('pers'), new PyObject('persistent', 'k'));
    assert.equal(e.get('memo'), 'v');
    assert.deepEqual([...d.attributes], []);
  });

  test('one file may hold several pickles: each call reads one and says where it ended', () => {
    const a = p().int(1).stop().bytes();
    const b = p().str('two').stop().bytes();
    const both = Uint8Array.from([...a, ...b]);
    const first = unpickle(both, 'x', POLICY);
    assert.deepEqual(first, { value: 1, end: a.length });
    assert.deepEqual(unpickle(both, 'x', POLICY, first.end), { value: 'two', end: both.length });
  });

  test('a global is only a name: nothing is resolved, and an allowed one with no call cannot be called', () => {
    const value = load(p().global('m', 'Type').stop().bytes()) as PyValue;
    assert.ok(value instanceof PyGlobal);
    assert.equal(value.qualified, 'm.Type');
  });
});

/** Every way a stream is refused, each its own test. */
const REFUSALS: [string, Uint8Array, RegExp][] = [
  [
    'GLOBAL of a name not allowed (os.system)',
    p().global('os', 'system').stop().bytes(),
    /global 'os\.system' is not allowed/,
  ],
  [
    'GLOBAL of builtins.eval',
    p().global('builtins', 'eval').str('1').op(0x85).reduce().stop().bytes(),
    /global 'builtins\.eval' is not allowed/,
  ],
  [
    'STACK_GLOBAL of a name not allowed',
    p().str('posix').str('system').op(0x93).stop().bytes(),
    /global 'posix\.system' is not allowed/,
  ],
  [
    'STACK_GLOBAL of non-strings',
    p().int(1).str('x').op(0x93).stop().bytes(),
    /STACK_GLOBAL of a int and a str/,
  ],
  [
    'INST',
    p()
      .op(0x28, 0x69, ...ascii('os\nsystem\n'))
      .stop()
      .bytes(),
    /INST \(instantiates a named class\) is not allowed/,
  ],
  [
    'OBJ',
    p().mark().global('m', 'Type').op(0x6f).stop().bytes(),
    /OBJ \(instantiates a class\) is not allowed/,
  ],
  ['NEWOBJ', p().global('m', 'Type').emptyTuple().op(0x81).stop().bytes(), /NEWOBJ \(instantiates a class\)/],
  [
    'NEWOBJ_EX',
    p().global('m', 'Type').emptyTuple().emptyDict().op(0x92).stop().bytes(),
    /NEWOBJ_EX \(instantiates a class\)/,
  ],
  ['EXT1', p().op(0x82, 1).stop().bytes(), /EXT1 \(names a global through the extension registry\)/],
  ['EXT2', p().op(0x83, 1, 0).stop().bytes(), /EXT2 /],
  ['EXT4', p().op(0x84, 1, 0, 0, 0).stop().bytes(), /EXT4 /],
  ['EMPTY_SET', p().op(0x8f).stop().bytes(), /EMPTY_SET \(builds a set\) is not allowed/],
  ['ADDITEMS', p().emptyList().mark().op(0x90).stop().bytes(), /ADDITEMS \(fills a set\)/],
  ['FROZENSET', p().mark().op(0x91).stop().bytes(), /FROZENSET/],
  ['BYTEARRAY8', p().op(0x96, 0, 0, 0, 0, 0, 0, 0, 0).stop().bytes(), /BYTEARRAY8/],
  ['NEXT_BUFFER', p().op(0x97).stop().bytes(), /NEXT_BUFFER \(reads an out-of-band buffer\)/],
  ['READONLY_BUFFER', p().op(0x98).stop().bytes(), /READONLY_BUFFER/],
  [
    'PERSID (text persistent id)',
    p()
      .op(0x50, ...ascii('k\n'))
      .stop()
      .bytes(),
    /PERSID \(a protocol-0 text persistent id\)/,
  ],
  [
    'STRING (protocol-0 quoted string)',
    p()
      .op(0x53, ...ascii("'a'\n"))
      .stop()
      .bytes(),
    /STRING \(a protocol-0 quoted string\)/,
  ],
  [
    'UNICODE (protocol-0 escaped string)',
    p()
      .op(0x56, ...ascii('a\n'))
      .stop()
      .bytes(),
    /UNICODE \(a protocol-0 escaped string\)/,
  ],
  ['an unknown opcode', p().op(0xff).stop().bytes(), /unknown opcode 0xff/],
  [
    'REDUCE of a value that is not a global',
    p().str('f').emptyTuple().reduce().stop().bytes(),
    /REDUCE of a str, not a global/,
  ],
  [
    'REDUCE of an allowed global that is not callable',
    p().global('m', 'Type').emptyTuple().reduce().stop().bytes(),
    /calling m\.Type is not allowed/,
  ],
  [
    'REDUCE with arguments that are not a tuple',
    p().global('m', 'make').int(1).reduce().stop().bytes(),
    /REDUCE of m\.make with a int, not a tuple/,
  ],
  [
    'a callable refusing its arguments',
    p().global('m', 'make').emptyTuple().reduce().stop().bytes(),
    /m\.make: expected 1 argument, got 0/,
  ],
  ['a persistent id the policy refuses', p().int(3).persid().stop().bytes(), /persistent id: expected a str/],
  [
    'BUILD the policy refuses',
    p().str('s').emptyDict().build().stop().bytes(),
    /BUILD \(setting the state\) of a str with a dict is not allowed/,
  ],
  ['GET of a memo key never stored', p().get(5).stop().bytes(), /memo key 5 was never stored/],
  ['a stack underflow', p().op(0x85).stop().bytes(), /stack underflow/],
  ['a TUPLE without MARK', p().int(1).tuple().stop().bytes(), /no MARK to pop to/],
  ['POP_MARK without MARK', p().op(0x31).stop().bytes(), /no MARK to pop to/],
  ['a stream that ends before STOP', p().int(1).bytes(), /truncated: the stream ends before STOP/],
  [
    'a stream that ends inside an argument',
    p().op(0x58, 10, 0, 0, 0, 0x61).bytes(),
    /truncated: the stream ends inside an opcode/,
  ],
  [
    'a text argument without end of line',
    p()
      .op(0x63, ...ascii('os'))
      .bytes(),
    /text argument has no end of line/,
  ],
  ['STOP inside an open MARK', p().int(1).mark().stop().bytes(), /STOP inside an unclosed MARK/],
  [
    'STOP with two values on the stack',
    p().int(1).int(2).stop().bytes(),
    /STOP with 2 values on the stack instead of 1/,
  ],
  [
    'SETITEM on a list',
    p().emptyList().int(1).int(2).setitem().stop().bytes(),
    /SETITEM on a list, not a dict/,
  ],
  ['APPEND on a dict', p().emptyDict().int(1).op(0x61).stop().bytes(), /APPEND on a dict, not a list/],
  [
    'a dict key that is not hashable here (a tuple)',
    p().emptyDict().emptyTuple().int(1).setitem().stop().bytes(),
    /a dict key of type tuple/,
  ],
  [
    'SETITEMS with an odd number of items',
    p().emptyDict().mark().int(1).setitems().stop().bytes(),
    /odd number of items/,
  ],
  ['a protocol above 5', new Pickle().proto(6).int(1).stop().bytes(), /pickle protocol 6 is not supported/],
  [
    'a string that is not UTF-8',
    p()
      .op(0x58, ...u32(1), 0xff)
      .stop()
      .bytes(),
    /not valid UTF-8/,
  ],
  [
    'LONG4 with a negative length',
    p().op(0x8b, 0xff, 0xff, 0xff, 0xff).stop().bytes(),
    /LONG4 with a negative length/,
  ],
  [
    'BINSTRING with a negative length',
    p().op(0x54, 0xff, 0xff, 0xff, 0xff).stop().bytes(),
    /BINSTRING with a negative length/,
  ],
  [
    'an INT argument that is not an integer',
    p()
      .op(0x49, ...ascii('x1\n'))
      .stop()
      .bytes(),
    /INT argument 'x1' is not an integer/,
  ],
  [
    'a FLOAT argument that is not a number',
    p()
      .op(0x46, ...ascii('abc\n'))
      .stop()
      .bytes(),
    /FLOAT argument 'abc' is not a number/,
  ],
  [
    'a PUT memo key out of range',
    p()
      .int(1)
      .op(0x70, ...ascii('-1\n'))
      .stop()
      .bytes(),
    /PUT memo key -1 is out of range/,
  ],
  [
    'an 8-byte length beyond the data',
    p().op(0x8d, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0).stop().bytes(),
    /runs past the end of the data/,
  ],
];

describe('the restricted unpickler refuses, in one line naming the file and what it expected', () => {
  for (const [name, bytes, pattern] of REFUSALS) test(name, () => refused(bytes, pattern));

  test('persistent ids when the policy has no persistentLoad', () =>
    refused(p().str('k').persid().stop().bytes(), /persistent ids are not allowed/, {
      ...POLICY,
      persistentLoad: undefined,
    }));

  test('BUILD when the policy has no build', () =>
    refused(p().emptyDict().emptyDict().build().stop().bytes(), /BUILD .* is not allowed/, {
      ...POLICY,
      build: undefined,
    }));
});
