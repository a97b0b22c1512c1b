/**
 * A restricted reader of Python pickle streams (protocols 0-5 as far as plain values go; torch.save
 * writes protocol 2). It evaluates the pickle virtual machine over a closed set of values: None,
 * booleans, ints, floats, strings, bytes, tuples, lists and dicts, plus two things a caller's policy
 * controls: which globals may be named (GLOBAL / STACK_GLOBAL push an inert PyGlobal reference, never
 * a resolved object), what calling such a global does (REDUCE runs the policy's own TypeScript function
 * for it), what a persistent id means (BINPERSID), and which BUILD (`__setstate__`) is accepted.
 * Nothing named in the stream is ever imported or executed; every opcode that would create an
 * instance of a named class (INST, OBJ, NEWOBJ, NEWOBJ_EX), consult the extension registry (EXT*) or
 * build sets and buffers is refused with a one-line PoisonlabError saying what was expected.
 */
import { PoisonlabError } from '../util/errors.js';

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}
/** A Python list. */
export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}
/** Keys a PyDict accepts (Python's hashable plain values). */
export type DictKey = string | number | bigint | boolean | null;
/** A Python dict (or collections.OrderedDict when `ordered`; both keep insertion order). */
export class PyDict {
  readonly entries = new Map<DictKey, PyValue>();
  /** Attributes set on the object by BUILD (e.g. an OrderedDict's `_metadata` in a torch state_dict). */
  readonly attributes = new Map<string, PyValue>();
  constructor(readonly ordered = false) {}
}
/** A reference to a global `module.name` that the policy allows; inert, nothing is resolved. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** Python bytes. */
export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}
/** A value made by one of the policy's callables (REDUCE) or persistent loads: `kind` names it. */
export class PyObject<T = unknown> {
  constructor(
    readonly kind: string,
    readonly value: T,
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyBytes
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | PyObject;

/** What a stream may do beyond plain values. */
export interface UnpicklePolicy {
  /** The globals (`module.name`) the stream may name; every other GLOBAL / STACK_GLOBAL is refused. */
  globals: ReadonlySet<string>;
  /**
   * REDUCE of an allowed global: the function that stands for calling it with `args` (it validates the
   * arguments, calling `fail` with what it expected otherwise). A global without one cannot be called.
   */
  calls?: Readonly<Record<string, (args: PyTuple, fail: (why: string) => never) => PyValue>>;
  /** BINPERSID: what a persistent id stands for; absent, persistent ids are refused. */
  persistentLoad?: (pid: PyValue, fail: (why: string) => never) => PyValue;
  /**
   * BUILD (`obj.__setstate__(state)`): apply it and return true when the policy accepts it; false refuses.
   * Absent: every BUILD is refused.
   */
  build?: (obj: PyValue, state: PyValue) => boolean;
  /** What the stream may contain, for error messages, e.g. 'a state_dict of tensors'. */
  expected: string;
}

/** Opcodes refused outright, with what they would do. */
const REFUSED: Record<number, string> = {
  105: 'INST (instantiates a named class)',
  111: 'OBJ (instantiates a class)',
  129: 'NEWOBJ (instantiates a class)',
  146: 'NEWOBJ_EX (instantiates a class)',
  130: 'EXT1 (names a global through the extension registry)',
  131: 'EXT2 (names a global through the extension registry)',
  132: 'EXT4 (names a global through the extension registry)',
  143: 'EMPTY_SET (builds a set)',
  144: 'ADDITEMS (fills a set)',
  145: 'FROZENSET (builds a frozenset)',
  150: 'BYTEARRAY8 (builds a bytearray)',
  151: 'NEXT_BUFFER (reads an out-of-band buffer)',
  152: 'READONLY_BUFFER (makes a buffer read-only)',
  80: 'PERSID (a protocol-0 text persistent id)',
  83: 'STRING (a protocol-0 quoted string)',
  86: 'UNICODE (a protocol-0 escaped string)',
};

/** A short Python-ish type name of a value, for errors. */
export function typeName(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PyGlobal) return v.qualified;
  return v.kind;
}

/**
 * Evaluate one pickle stream that starts at `start` in `bytes` (a file may hold several, one after the
 * other). Returns the value and the offset just past its STOP. Errors are one-line PoisonlabErrors
 * `<what>: pickle byte <n>: <why> (expected <policy.expected>)`.
 */
export function unpickle(
  bytes: Uint8Array,
  what: string,
  policy: UnpicklePolicy,
  start = 0,
): { value: PyValue; end: number } {
  let pos = start;
  let opAt = start;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new PoisonlabError(`${what}: pickle byte ${opAt}: ${why} (expected ${policy.expected})`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail('truncated: the stream ends inside an opcode, before STOP');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) fail(`length ${v} runs past the end of the data`);
    return Number(v);
  };
  const raw = (n: number) => bytes.subarray(need(n), pos);
  const utf8 = (n: number): string => {
    const b = raw(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const latin1 = (n: number) => new TextDecoder('latin1').decode(raw(n));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: a text argument has no end of line');
    const text = latin1(end - pos);
    pos++;
    return text;
  };
  const decimal = (text: string, opname: string): number | bigint => {
    if (!/^-?\d+L?$/.test(text)) fail(`${opname} argument '${text}' is not an integer`);
    return intValue(BigInt(text.replace(/L$/, '')));
  };
  const memoKey = (text: string, opname: string): number => {
    const k = decimal(text, opname);
    if (typeof k !== 'number' || k < 0) fail(`${opname} memo key ${k} is out of range`);
    return k as number;
  };

  let stack: PyValue[] = [];
  const metastack: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = metastack.pop();
    if (!outer) fail('no MARK to pop to');
    stack = outer!;
    return items;
  };
  const memoGet = (key: number): PyValue => {
    if (!memo.has(key)) fail(`memo key ${key} was never stored`);
    return memo.get(key)!;
  };
  const dictKey = (k: PyValue): DictKey => {
    if (k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)) return k as DictKey;
    return fail(`a dict key of type ${typeName(k)}; only str, int, float, bool and None keys are supported`);
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyDict)) fail(`SETITEM on a ${typeName(target)}, not a dict`);
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    const dict = target as PyDict;
    for (let i = 0; i < items.length; i += 2) dict.entries.set(dictKey(items[i]!), items[i + 1]!);
  };
  const append = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyList)) fail(`APPEND on a ${typeName(target)}, not a list`);
    (target as PyList).items.push(...items);
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!policy.globals.has(qualified)) fail(`global '${qualified}' is not allowed`);
    return new PyGlobal(module, name);
  };

  for (;;) {
    opAt = pos;
    if (pos >= bytes.length) fail('truncated: the stream ends before STOP');
    const op = bytes[pos++]!;
    const refused = REFUSED[op];
    if (refused !== undefined) fail(`opcode ${refused} is not allowed`);
    switch (op) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto > 5) fail(`pickle protocol ${proto} is not supported (0 to 5)`);
        break;
      }
      case 0x95: // FRAME: an 8-byte frame length; frames need no special handling when reading a buffer
        u64();
        break;
      case 0x2e: // STOP
        if (metastack.length > 0) fail('STOP inside an unclosed MARK');
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack instead of 1`);
        return { value: stack[0]!, end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // --- constants
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x8a: // LONG1
        stack.push(intValue(littleEndianSigned(raw(u8()))));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) fail('LONG4 with a negative length');
        stack.push(intValue(littleEndianSigned(raw(n))));
        break;
      }
      case 0x49: {
        // INT (text); I00 / I01 are protocol 0's False / True
        const text = line();
        stack.push(text === '00' ? false : text === '01' ? true : decimal(text, 'INT'));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(decimal(line(), 'LONG'));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x46: {
        // FLOAT (text)
        const text = line();
        const v = Number(text);
        if (text.trim() === '' || Number.isNaN(v)) fail(`FLOAT argument '${text}' is not a number`);
        stack.push(v);
        break;
      }
      // --- strings and bytes
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: {
        // BINSTRING (Python 2 str, read as latin-1 text)
        const n = view.getInt32(need(4), true);
        if (n < 0) fail('BINSTRING with a negative length');
        stack.push(latin1(n));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(new PyBytes(raw(u32()).slice()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new PyBytes(raw(u8()).slice()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(new PyBytes(raw(u64()).slice()));
        break;
      // --- tuples, lists, dicts
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: {
        // TUPLE (popMark first: it replaces `stack`)
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push(new PyList());
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(new PyList(items));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const dict = new PyDict();
        const items = popMark();
        setItems(dict, items);
        stack.push(dict);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      // --- memo
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(memoKey(line(), 'PUT'), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(memoKey(line(), 'GET')));
        break;
      // --- globals, calls, persistent ids, state
      case 0x63: {
        // GLOBAL 'module\nname\n'
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail(`STACK_GLOBAL of a ${typeName(module)} and a ${typeName(name)}, not two strings`);
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PyGlobal)) fail(`REDUCE of a ${typeName(callable)}, not a global`);
        const g = callable as PyGlobal;
        const call = policy.calls?.[g.qualified];
        if (!call) fail(`calling ${g.qualified} is not allowed`);
        if (!(args instanceof PyTuple))
          fail(`REDUCE of ${g.qualified} with a ${typeName(args)}, not a tuple`);
        stack.push(call!(args as PyTuple, (why) => fail(`${g.qualified}: ${why}`)));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!policy.persistentLoad) fail('persistent ids are not allowed');
        stack.push(policy.persistentLoad!(pid, (why) => fail(`persistent id: ${why}`)));
        break;
      }
      case 0x62: {
        // BUILD: top-1 .__setstate__(top)
        const state = pop();
        const obj = top();
        if (!policy.build?.(obj, state))
          fail(`BUILD (setting the state) of a ${typeName(obj)} with a ${typeName(state)} is not allowed`);
        break;
      }
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** A two's-complement little-endian integer (LONG1 / LONG4). */
function littleEndianSigned(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v;
}

/** An integer as a number when it is exact, otherwise as a bigint. */
function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
