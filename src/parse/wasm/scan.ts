// AssemblyScript, compiled to dist/parse/scan.wasm by `npm run build:wasm` (see asconfig.json). Not part of the
// TypeScript program (tsconfig excludes this folder).
//
// The hot path of the parser: reads runs of complete lines (each ending in '\n') straight from bytes and writes one
// fixed-size record of integers per line. A record says "event" only for layouts it reads completely and exactly as
// the general JavaScript parser would (src/parse/body.ts, envelope.ts); everything else — other envelopes, other
// fields, anything odd — is marked "fallback" and the JavaScript parser reads that line. Strings (host, prefix,
// devices, MAC header, addresses) are interned here: a record holds small integer ids, and each new id is listed
// once with its bytes so JavaScript makes the string once. The JavaScript side is src/parse/wasm-scan.ts; both take
// the record layout from src/parse/scan-layout.ts. For `fwdiag parse`, emit() also prints the events it read as
// NDJSON (see the section below), so JavaScript does not build them at all.

import {
  REC_SLOTS,
  LAYOUT_VERSION,
  R_STATUS,
  R_START,
  R_END,
  R_ENV,
  R_TRANSPORT,
  R_HOST,
  R_TKIND,
  R_Y,
  R_MO,
  R_D,
  R_H,
  R_MI,
  R_S,
  R_OFF,
  R_FRACV,
  R_FRACN,
  R_HASMONO,
  R_MONO,
  R_PREFIX,
  R_IN,
  R_OUT,
  R_MAC,
  R_UID,
  R_GID,
  R_HASUID,
  R_MARK,
  R_HASMARK,
  R_INNER,
  R_USEC,
  P_OUTER,
  R_MONO_N,
  R_MONO_K,
  P_INNER,
  P_FAMILY,
  P_SRC,
  P_DST,
  P_LEN,
  P_TOS,
  P_PREC,
  P_TTL,
  P_ID,
  P_IPFLAGS,
  P_TC,
  P_HOP,
  P_FLOWLBL,
  P_PROTO,
  P_SPT,
  P_DPT,
  P_WINDOW,
  P_RES,
  P_TCPFLAGS,
  P_URGP,
  P_UDPLEN,
  P_ITYPE,
  P_ICODE,
  P_IID,
  P_ISEQ,
  P_HASIDSEQ,
  P_SEQ,
  P_ACK,
  P_HASSEQ,
} from '../scan-layout';

// ---------------------------------------------------------------------------------------------------------------
// Memory layout (bytes). Fixed; the module never grows memory.
const IN_BASE: i32 = 65536;
const IN_CAP: i32 = 1 << 20;
const REC_BASE: i32 = IN_BASE + IN_CAP + 1024;
const REC_BYTES: i32 = REC_SLOTS * 4;
const MAX_RECS: i32 = 4096;
const NEW_BASE: i32 = REC_BASE + MAX_RECS * REC_BYTES;
const MAX_NEW: i32 = 16384;
const TAB_BASE: i32 = NEW_BASE + MAX_NEW * 12;
const TAB_SIZE: i32 = 65536;
const IDS_BASE: i32 = TAB_BASE + TAB_SIZE * 8;
const MAX_IDS: i32 = 32768;
const ARENA_BASE: i32 = IDS_BASE + MAX_IDS * 8;
const ARENA_CAP: i32 = 2 << 20;
/** one byte per id: 1 when the string needs JSON escaping (emit() leaves such records to JavaScript) */
const ESC_BASE: i32 = ARENA_BASE + ARENA_CAP + 1024;
/** the `,"file":"…"` fragment JavaScript gives emit() (JSON already), at most FILE_CAP bytes */
const FILE_BASE: i32 = ESC_BASE + MAX_IDS;
const FILE_CAP: i32 = 4096;
/** emit()'s byte literals (keys and fixed values), written once at start */
const LIT_BASE: i32 = FILE_BASE + FILE_CAP;
const LIT_CAP: i32 = 4096;
/** emit()'s NDJSON output */
const OUT_BASE: i32 = LIT_BASE + LIT_CAP;
const OUT_CAP: i32 = 4 << 20;
/** IPv4 address → id, direct-mapped by the address's value (see addr()): 8-byte key, 4-byte id, 4 spare */
const V4_BASE: i32 = OUT_BASE + OUT_CAP + 1024;
const V4_SLOTS: i32 = 4096;
/** IPv4 address text → id, direct-mapped by the text's bytes (16-byte key; ids beside, 4 bytes a slot) */
const V4F_BASE: i32 = V4_BASE + V4_SLOTS * 16 + 1024;
const V4F_IDS: i32 = V4F_BASE + V4_SLOTS * 16;
/** internT()'s recent tokens: TOK_SLOTS slots of 64 bytes (length + 1, id, up to TOK_MAX bytes) */
const TOK_BASE: i32 = V4F_IDS + V4_SLOTS * 4 + 1024;
const TOK_SLOTS: i32 = 1024;
const TOK_MAX: i32 = 56;
/** body()'s copy of the last message start it read up to OUT's value (see spanLen) */
const SPAN_BASE: i32 = TOK_BASE + TOK_SLOTS * 64 + 1024;
const MEM_END: i32 = SPAN_BASE + 64 + 1024;

// Envelope codes.
const ENV_RFC3164: i32 = 1;
const ENV_RFC3339: i32 = 2;
const ENV_RFC5424: i32 = 3;
const ENV_SHORT_MONO: i32 = 4;
const ENV_DMESG: i32 = 5;
const ENV_KMSG: i32 = 6;
const ENV_TALOS: i32 = 7;
const ENV_BARE: i32 = 8;
const ENV_JOURNAL_JSON: i32 = 9;
const ENV_SHORT_UNIX: i32 = 10;

// ---------------------------------------------------------------------------------------------------------------
// Byte access.
@inline function b(p: i32): i32 {
  return <i32>load<u8>(<usize>p);
}
@inline function w32(p: i32): u32 {
  return load<u32>(<usize>p);
}
@inline function w64(p: i32): u64 {
  return load<u64>(<usize>p);
}
@inline function isDigit(c: i32): bool {
  return <u32>(c - 48) <= 9;
}

/** The low n bits (0 ≤ n ≤ 64). */
@inline function mask64(n: i32): u64 {
  return n >= 64 ? 0xffffffffffffffff : (<u64>1 << <u64>n) - 1;
}
@inline function mask(n: i32): u64 {
  return n >= 8 ? 0xffffffffffffffff : (<u64>1 << (<u64>n * 8)) - 1;
}
/** Does `lit` (n bytes, packed) start at p? */
@inline function at(p: i32, lit: u64, n: i32): bool {
  return (w64(p) & mask(n)) == lit;
}

// ASCII literals the scanner compares 8 bytes at a time: each is its text packed little-endian (first byte lowest), as
// an immediate (test/parse/wasm-scan.test.ts checks every value against its text).
const L_SRC: u64 = 0x3d435253; // 'SRC='
const L_SP_DST: u64 = 0x3d54534420; // ' DST='
const L_SP_PROTO: u64 = 0x3d4f544f525020; // ' PROTO='
const L_SP_BLOB: u64 = 0x626f6c6220; // ' blob'
const L_SP_DATA_CLOSE: u64 = 0x5d6174616420; // ' data]'
const L_SP_LEN: u64 = 0x3d4e454c20; // ' LEN='
const L_SP_TOS_0X: u64 = 0x78303d534f5420; // ' TOS=0x'
const L_SP_PREC_0X: u64 = 0x78303d4345525020; // ' PREC=0x'
const L_SP_TTL: u64 = 0x3d4c545420; // ' TTL='
const L_SP_ID: u64 = 0x3d444920; // ' ID='
const L_PROTO: u64 = 0x3d4f544f5250; // 'PROTO='
const L_TCP_SPT: u64 = 0x3d54505320504354; // 'TCP SPT='
const L_UDP_SPT: u64 = 0x3d54505320504455; // 'UDP SPT='
const L_ICMP_TY: u64 = 0x50595420504d4349; // 'ICMP TYP'
const L_ICMPV6_T: u64 = 0x54203676504d4349; // 'ICMPv6 T'
const L_YPE: u64 = 0x3d455059; // 'YPE='
const L_SP_DPT: u64 = 0x3d54504420; // ' DPT='
const L_SP_SPT: u64 = 0x3d54505320; // ' SPT='
const L_SP_SEQ: u64 = 0x3d51455320; // ' SEQ='
const L_SP_ACK: u64 = 0x3d4b434120; // ' ACK='
const L_SP_WINDOW: u64 = 0x3d574f444e495720; // ' WINDOW='
const L_SP_RES_0X: u64 = 0x78303d53455220; // ' RES=0x'
const L_SP_RES_0X0: u64 = 0x3078303d53455220; // ' RES=0x0'
const L_TOS00_0: u64 = 0x3078303d534f5420; // ' TOS=0x0'
const L_TOS00_1: u64 = 0x303d434552502030; // '0 PREC=0'
const L_TOS00_2: u64 = 0x3d4c545420303078; // 'x00 TTL='
const L_URGP: u64 = 0x3d50475255; // 'URGP='
const L_SP_CODE: u64 = 0x3d45444f4320; // ' CODE='
const L_SP_UID: u64 = 0x3d44495520; // ' UID='
const L_SP_GID: u64 = 0x3d44494720; // ' GID='
const L_SP_MARK: u64 = 0x78303d4b52414d20; // ' MARK=0x'
const L_SP_TC: u64 = 0x3d435420; // ' TC='
const L_SP_HOPLIMI: u64 = 0x494d494c504f4820; // ' HOPLIMI'
const L_T_EQ: u64 = 0x3d54; // 'T='
const L_SP_FLOWLBL: u64 = 0x4c424c574f4c4620; // ' FLOWLBL'
const L_EQ: u64 = 0x3d; // '='
const L_IN: u64 = 0x3d4e49; // 'IN='
const L_SP_OUT: u64 = 0x3d54554f20; // ' OUT='
const L_MAC: u64 = 0x3d43414d; // 'MAC='
const L_KERNEL: u64 = 0x203a6c656e72656b; // 'kernel: '
const L_NF_CT: u64 = 0x5f74635f666e; // 'nf_ct_'
const L_CURSOR: u64 = 0x524f535255435f5f; // '__CURSOR'
const L_REALTIME: u64 = 0x49544c4145525f5f; // '__REALTI'
const L_KERNEL_SP: u64 = 0x206c656e72656b; // 'kernel '
const L_MESSAGE: u64 = 0x4547415353454d; // 'MESSAGE'
const L__TRANSPO: u64 = 0x4f50534e4152545f; // '_TRANSPO'
const L__HOSTNAM: u64 = 0x4d414e54534f485f; // '_HOSTNAM'
const L_ME_TIMES: u64 = 0x53454d49545f454d; // 'ME_TIMES'
const L__SOURCE_: u64 = 0x5f454352554f535f; // '_SOURCE_'
const L_MONOTONI: u64 = 0x494e4f544f4e4f4d; // 'MONOTONI'
const L_C_TIMEST: u64 = 0x5453454d49545f43; // 'C_TIMEST'
const L_SYSLOG_I: u64 = 0x495f474f4c535953; // 'SYSLOG_I'
const L_DENTIFIE: u64 = 0x45494649544e4544; // 'DENTIFIE'
const L_SYSLOG_F: u64 = 0x465f474f4c535953; // 'SYSLOG_F'
const L_FACILITY: u64 = 0x5954494c49434146; // 'FACILITY'
const L_KERNEL_W: u64 = 0x6c656e72656b; // 'kernel'
const L_TAMP: u32 = 0x504d4154; // 'TAMP'
const L_OUT_EQ: u32 = 0x3d54554f; // 'OUT='
const L_ACK_SP: u32 = 0x204b4341; // 'ACK '
const L_PSH_SP: u32 = 0x20485350; // 'PSH '
const L_SYN_SP: u32 = 0x204e5953; // 'SYN '
const L_FIN_SP: u32 = 0x204e4946; // 'FIN '
const L_RST_SP: u32 = 0x20545352; // 'RST '
const L_URG_SP: u32 = 0x20475255; // 'URG '
const L_ECE_SP: u32 = 0x20454345; // 'ECE '
const L_CWR_SP: u32 = 0x20525743; // 'CWR '
const L_AE_SP: u32 = 0x204541; // 'AE '
const L_CE_SP: u32 = 0x204543; // 'CE '
const L_DF_SP: u32 = 0x204644; // 'DF '
const L_MF_SP: u32 = 0x20464d; // 'MF '
const L_KERN: u32 = 0x6e72656b; // 'kern'
const L_DATA_SP: u64 = 0x7b203a61746164; // 'data: {'

// ---------------------------------------------------------------------------------------------------------------
// Interning. Open addressing over (hash, id); ids index (offset, length) of a copy in the arena.
let idCount: i32 = 0;
let arenaUsed: i32 = 0;
let newCount: i32 = 0;
/** set when the table or arena is full: the scan stops, JavaScript takes the records, then calls reset() */
let full: bool = false;

export function reset(): void {
  memory.fill(<usize>TAB_BASE, 0, <usize>(TAB_SIZE * 8));
  memory.fill(<usize>V4_BASE, 0, <usize>(V4_SLOTS * 16));
  memory.fill(<usize>V4F_BASE, 0, <usize>(V4_SLOTS * 16));
  memory.fill(<usize>TOK_BASE, 0, <usize>(TOK_SLOTS * 64));
  for (let i = 0; i < 8; i++) unchecked((lastIds[i] = -1));
  spanLen = 0;
  idCount = 0;
  arenaUsed = 0;
  full = false;
}

// The id each field had on the previous line: most lines repeat host, prefix and devices, and comparing with one
// known string costs less than hashing. Index by field (F_*).
const F_HOST = 0;
const F_PREFIX = 1;
const F_IN = 2;
const F_OUT = 3;
const F_MAC = 4;
const F_SRC = 5;
const F_DST = 6;
const lastIds = new StaticArray<i32>(8);

/** intern() with a look at the field's previous id first. */
@inline function internF(f: i32, a: i32, e: i32): i32 {
  const id = unchecked(lastIds[f]);
  if (id >= 0 && id < idCount) {
    const ip = IDS_BASE + id * 8;
    if (load<i32>(<usize>(ip + 4)) == e - a && same(ARENA_BASE + load<i32>(<usize>ip), a, e - a)) return id;
  }
  const nid = intern(a, e);
  if (nid >= 0) unchecked((lastIds[f] = nid));
  return nid;
}

/**
 * internF() behind a small direct-mapped cache of recent tokens (hosts, MAC headers, IPv6 addresses: a few dozen
 * values that take turns line after line): a slot holds a token's length, id and bytes, found by a cheap hash of
 * them, so a repeat costs one slot compared rather than a hash-table probe and a compare in the arena.
 */
@inline function internT(f: i32, a: i32, e: i32): i32 {
  const n = e - a;
  if (n > TOK_MAX) return internF(f, a, e);
  // Hash and compare without a loop: up to 16 bytes as two words (masked to the token), 17-56 as three 16-byte
  // windows (first, middle, last: together they cover up to 48 bytes, the rest of a longer token is compared too).
  let h: u64;
  if (n <= 16) {
    h = (w64(a) & mask(n)) ^ rotl<u64>(n > 8 ? w64(a + 8) & mask(n - 8) : 0, 29);
  } else {
    const v = v128.xor(v128.xor(v128.load(<usize>a), v128.load(<usize>(a + (n >> 1) - 8))), v128.load(<usize>(a + n - 16)));
    h = i64x2.extract_lane(v, 0) ^ rotl<u64>(i64x2.extract_lane(v, 1), 29);
  }
  const slot = TOK_BASE + (<i32>(((h ^ <u64>n) * 0x9e3779b97f4a7c15) >> 54) << 6);
  // a slot holds its token's length + 1: an empty slot (0) never matches, not even an empty token (`MAC= `)
  if (load<i32>(<usize>slot) == n + 1) {
    const c = slot + 8;
    let hit: bool;
    if (n <= 16) {
      hit = same(c, a, n);
    } else {
      const m = n >> 1;
      hit =
        v128.all_true<i8>(
          v128.and(
            v128.and(
              i8x16.eq(v128.load(<usize>c), v128.load(<usize>a)),
              i8x16.eq(v128.load(<usize>(c + m - 8)), v128.load(<usize>(a + m - 8))),
            ),
            i8x16.eq(v128.load(<usize>(c + n - 16)), v128.load(<usize>(a + n - 16))),
          ),
        ) && (n <= 48 || same(c + 16, a + 16, n - 32));
    }
    if (hit) return load<i32>(<usize>(slot + 4));
  }
  const id = internF(f, a, e);
  if (id >= 0) {
    store<i32>(<usize>slot, n + 1);
    store<i32>(<usize>(slot + 4), id);
    memory.copy(<usize>(slot + 8), <usize>a, <usize>n);
  }
  return id;
}

/**
 * Id of the bytes [a, e). -1 when a byte is not ASCII (the line goes to JavaScript), -2 when the table is full.
 */
function intern(a: i32, e: i32): i32 {
  const n = e - a;
  // Eight bytes at a time; the last word masked to the string (the input area has slack after every line).
  let h: u64 = <u64>n * 0x9e3779b97f4a7c15;
  let any: u64 = 0;
  let p = a;
  while (p + 8 <= e) {
    const v = w64(p);
    any |= v;
    h = rotl<u64>((h ^ v) * 0xff51afd7ed558ccd, 31);
    p += 8;
  }
  if (p < e) {
    const v = w64(p) & ((<u64>1 << (<u64>(e - p) << 3)) - 1);
    any |= v;
    h = rotl<u64>((h ^ v) * 0xff51afd7ed558ccd, 31);
  }
  if ((any & 0x8080808080808080) != 0) return -1;
  h = (h ^ (h >> 29)) * 0xc4ceb9fe1a85ec53;
  return internHashed(a, n, <u32>(h >> 32));
}

function internHashed(a: i32, n: i32, hash: u32): i32 {
  let h = hash;
  h ^= h >> 15;
  h = h * 0x2c1b3c6d;
  h ^= h >> 12;
  if (h == 0) h = 1;
  let slot = <i32>(h & <u32>(TAB_SIZE - 1));
  for (;;) {
    const sp = TAB_BASE + slot * 8;
    const sh = load<u32>(<usize>sp);
    if (sh == 0) break;
    if (sh == h) {
      const id = load<i32>(<usize>(sp + 4));
      const ip = IDS_BASE + id * 8;
      if (load<i32>(<usize>(ip + 4)) == n && same(ARENA_BASE + load<i32>(<usize>ip), a, n)) return id;
    }
    slot = (slot + 1) & (TAB_SIZE - 1);
  }
  if (idCount >= MAX_IDS || arenaUsed + n > ARENA_CAP || newCount >= MAX_NEW) {
    full = true;
    return -2;
  }
  const id = idCount++;
  const off = arenaUsed;
  memory.copy(<usize>(ARENA_BASE + off), <usize>a, <usize>n);
  arenaUsed += n;
  store<i32>(<usize>(IDS_BASE + id * 8), off);
  store<i32>(<usize>(IDS_BASE + id * 8 + 4), n);
  // JSON.stringify escapes '"', '\\' and controls, and fwdiag's JSON DEL too (ndjson.ts); such strings are rare in a
  // LOG line, and emit() leaves them to JavaScript. (Strings with non-ASCII bytes are never interned.)
  let esc: u8 = 0;
  for (let q = a; q < a + n; q++) {
    const c = b(q);
    if (c < 32 || c == 34 || c == 92 || c == 127) {
      esc = 1;
      break;
    }
  }
  store<u8>(<usize>(ESC_BASE + id), esc);
  const sp = TAB_BASE + slot * 8;
  store<u32>(<usize>sp, h);
  store<i32>(<usize>(sp + 4), id);
  const np = NEW_BASE + newCount * 12;
  store<i32>(<usize>np, id);
  store<i32>(<usize>(np + 4), ARENA_BASE + off);
  store<i32>(<usize>(np + 8), n);
  newCount++;
  return id;
}

@inline function same(x: i32, y: i32, n: i32): bool {
  // most strings compared are short (hosts, prefixes, devices): two words, no loop
  if (n <= 8) return ((w64(x) ^ w64(y)) & mask(n)) == 0;
  if (n <= 16) return w64(x) == w64(y) && ((w64(x + 8) ^ w64(y + 8)) & mask(n - 8)) == 0;
  let i = 0;
  while (i + 8 <= n) {
    if (w64(x + i) != w64(y + i)) return false;
    i += 8;
  }
  if (i == n) return true;
  return ((w64(x + i) ^ w64(y + i)) & ((<u64>1 << (<u64>(n - i) << 3)) - 1)) == 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Cursor state for one line.
let pos: i32 = 0;
let lend: i32 = 0;
let rec: i32 = 0;

@inline function set(slot: i32, v: i32): void {
  store<i32>(<usize>(rec + slot * 4), v);
}
@inline function setU(slot: i32, v: u32): void {
  store<u32>(<usize>(rec + slot * 4), v);
}

// The packet parsers below keep their cursor in a local (`p`), handing it to and from these helpers, and set the
// global `pos` once at the end: a cursor in a wasm global is a store and a load on every step.

/** Packs a field's value and where it ends: (value << 32) | end. */
@inline function vend(v: i64, end: i32): i64 {
  return (v << 32) | <i64>end;
}
@inline function valOf(r: i64): i32 {
  return <i32>(r >> 32);
}
@inline function endOf(r: i64): i32 {
  return <i32>r;
}

/**
 * 1..max decimal digits at p (max ≤ 8) → vend(value, end); -1 when none or more than max. Eight bytes at a time, no
 * branch per digit: the digit run's length is where the first non-digit byte is (a byte minus '0' is a digit when
 * below 10), and the digits, shifted to the top of the word behind leading zeros, are combined pairwise
 * (simdjson's eight-digit parse). Bytes after the run may be anything: a line always ends in '\n' inside the input.
 */
@inline function num(p: i32, max: i32): i64 {
  const x = load<u64>(<usize>p) ^ 0x3030303030303030;
  // per byte: high bit set unless it was a digit (carries only run upwards, past the first non-digit)
  const bad = ((x + 0x7676767676767676) | x) & 0x8080808080808080;
  const n = <i32>(ctz(bad) >> 3);
  if (n == 0 || n > max) return -1;
  let v = x << (<u64>(8 - n) << 3);
  v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ff;
  v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffff;
  v = (v * 10000 + (v >> 32)) & 0xffffffff;
  return vend(<i64>v, p + n);
}

/** 1..10 digits at p → u32 value, its end in `numEnd`; -1 (as i64) when none, too many, or over 2^32-1. */
@inline function numU32(p: i32): i64 {
  let v: i64 = 0;
  const s = p;
  let c = b(p);
  if (!isDigit(c)) return -1;
  while (isDigit(c)) {
    if (p - s == 10) return -1;
    v = v * 10 + <i64>(c - 48);
    p++;
    c = b(p);
  }
  if (v > 0xffffffff) return -1;
  numEnd = p;
  return v;
}
let numEnd: i32 = 0;

/** Exactly two hex digits of one case (upper when `upper`) at p, not followed by a third → value; -1 otherwise. */
@inline function hex2(p: i32, upper: bool): i32 {
  // `00`, nearly always (TOS, PREC, RES), without the loop
  if (load<u16>(<usize>p) == 0x3030 && !isHexAny(b(p + 2))) return 0;
  let v = 0;
  for (let i = 0; i < 2; i++) {
    const c = b(p + i);
    let d: i32;
    if (isDigit(c)) d = c - 48;
    else if (upper && c >= 65 && c <= 70) d = c - 55;
    else if (!upper && c >= 97 && c <= 102) d = c - 87;
    else return -1;
    v = v * 16 + d;
  }
  if (isHexAny(b(p + 2))) return -1;
  return v;
}
@inline function isHexAny(c: i32): bool {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

// ---------------------------------------------------------------------------------------------------------------
// Envelopes. Each mirrors the branch decodeEnvelope() in envelope.ts takes for that layout; where the JavaScript
// code would do anything less usual, these return false and the line goes to JavaScript.

/** readSeconds(s, a, e) of envelope.ts: `  499.178765` → f64, NaN when malformed. */
function seconds(a: i32, e: i32): f64 {
  while (a < e && b(a) == 32) a++;
  let dot = findByte(a, e, 0x2e2e2e2e2e2e2e2e);
  if (dot >= e) {
    const v = uintIn(a, e);
    secN = v;
    secK = v >= 0 && v < 1000000000000000 ? 0 : -1;
    return v < 0 ? NaN : <f64>v;
  }
  const ip = uintIn(a, dot);
  const fp = uintIn(dot + 1, e);
  if (ip < 0 || fp < 0) return NaN;
  const k = e - dot - 1;
  if (ip < 1000000000 && k <= 6) {
    secN = ip * <i64>unchecked(POW10F[k]) + fp;
    secK = k;
  } else {
    secK = -1;
  }
  return <f64>ip + <f64>fp / (k <= 9 ? unchecked(POW10F[k]) : pow10(k));
}
/** The digits seconds() read, as N / 10^K (K -1: too many to print exactly here). */
let secN: i64 = 0;
let secK: i32 = -1;

/** Stores mono and its decimal digits (N / 10^k; k -1 when unknown). */
function setMono(m: f64, n: i64, k: i32): void {
  store<f64>(<usize>(rec + R_MONO * 4), m);
  store<i64>(<usize>(rec + R_MONO_N * 4), n);
  set(R_MONO_K, k);
  set(R_HASMONO, 1);
}

/** readUint of time.ts over [a, e): -1 when empty or not all digits (≤15 digits here, else -1). */
function uintIn(a: i32, e: i32): i64 {
  const n = e - a;
  if (n <= 0 || n > 15) return -1;
  if (n <= 8) return <i64>numN(a, n, 8);
  // the last eight digits, and the rest before them
  const hi = numN(a, n - 8, 7);
  const lo = numN(a + n - 8, 8, 8);
  if ((hi | lo) < 0) return -1;
  return <i64>hi * 100000000 + <i64>lo;
}

function pow10(n: i32): f64 {
  let v: f64 = 1;
  for (let i = 0; i < n; i++) v *= 10;
  return v;
}

/** Fraction digits at p (after '.'); sets R_FRACV/R_FRACN, returns the end. -1 when more than 9 digits. */
function fraction(p: i32): i32 {
  // the digit run's length as in num(), then its value as in numN()
  const x = w64(p) ^ 0x3030303030303030;
  let n = <i32>(ctz(((x + 0x7676767676767676) | x) & 0x8080808080808080) >> 3);
  let v = 0;
  if (n > 0) v = numN(p, n, 8);
  if (n == 8 && isDigit(b(p + 8))) {
    if (isDigit(b(p + 9))) return -1;
    v = v * 10 + b(p + 8) - 48;
    n = 9;
  }
  set(R_FRACV, v);
  set(R_FRACN, n);
  return p + n;
}

// Month abbreviations by a perfect hash of their three bytes ((key * MONTH_MUL) >>> 28): slot → (month << 24) | key.
const MONTH_MUL: u32 = 0x331716d9;
const MONTH_SLOTS: StaticArray<u32> = [
  0x0974634f, // Oct
  0x0a766f4e, // Nov
  0x056e754a, // Jun
  0x03727041, // Apr
  0x0272614d, // Mar
  0x006e614a, // Jan
  0x006e614a, // free (Jan's entry, which no other key reaches)
  0x006e614a, // free (Jan's entry, which no other key reaches)
  0x0b636544, // Dec
  0x006e614a, // free (Jan's entry, which no other key reaches)
  0x08706553, // Sep
  0x07677541, // Aug
  0x006e614a, // free (Jan's entry, which no other key reaches)
  0x01626546, // Feb
  0x0479614d, // May
  0x066c754a, // Jul
];

/** The month (0-11) whose three-letter name is at p, or -1. */
@inline function monthAt(p: i32): i32 {
  const k = w32(p) & 0xffffff;
  const e = unchecked(MONTH_SLOTS[(k * MONTH_MUL) >>> 28]);
  return (e & 0xffffff) == k ? <i32>(e >> 24) : -1;
}

/** syslogTail(): ` host kernel: ` or ` kernel: ` at p. 1 ok, 0 not a kernel line (skip), -1 fallback. */
@inline function syslogTail(p: i32): i32 {
  if (b(p) != 32) return 0;
  p++;
  while (b(p) == 32) p++;
  if (at(p, L_KERNEL, 8)) {
    set(R_HOST, -1);
    set(R_TRANSPORT, 2);
    pos = p + 8;
    return 1;
  }
  let sp = p;
  sp = findByte(sp, lend, 0x2020202020202020);
  if (sp >= lend) return 0;
  if (!at(sp + 1, L_KERNEL, 8)) return 0;
  const id = internT(F_HOST, p, sp);
  if (id < 0) return -1;
  set(R_HOST, id);
  set(R_TRANSPORT, 2);
  pos = sp + 9;
  return 1;
}

/** Days in month mo (1-12) of year y, as daysInMonth() of time.ts: a stamp of a day the month lacks is malformed. */
@inline function daysIn(y: i32, mo: i32): i32 {
  if (mo == 2) return (y & 3) == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28;
  return mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
}

/** `Apr 22 10:00:01[.123456] ` at p, its month (0-11) already read. */
@inline function rfc3164(p: i32, month: i32): i32 {
  let d0 = b(p + 4);
  const d1 = b(p + 5);
  if (d1 == 32) return -1; // unpadded single-digit day: JavaScript
  if (d0 == 32) d0 = 48;
  if (!isDigit(d0) || !isDigit(d1) || b(p + 6) != 32) return -1;
  const day = (d0 - 48) * 10 + (d1 - 48);
  // `hh:mm:ss` as one word: '0' off the digits and ':' off the colons leaves eight bytes of 0-9, the colons' 0
  const t = w64(p + 7) ^ 0x30303a30303a3030;
  if (((t + 0x7676767676767676) | t) & 0x8080808080808080 || t & 0x0000ff0000ff0000) return -1;
  const h = <i32>(t & 0xff) * 10 + <i32>((t >> 8) & 0xff);
  const mi = <i32>((t >> 24) & 0xff) * 10 + <i32>((t >> 32) & 0xff);
  const sec = <i32>((t >> 48) & 0xff) * 10 + <i32>(t >> 56);
  // a day no year gives the month (Apr 31; Feb 29 is the last leap year's) has no date: JavaScript refuses the stamp
  if (day < 1 || (day > 28 && day > daysIn(2000, month + 1)) || h > 23 || mi > 59) return -1;
  let end = p + 15;
  if (b(end) == 46) {
    end = fraction(end + 1);
    if (end < 0) return -1;
  }
  set(R_TKIND, 1);
  set(R_MO, month);
  set(R_D, day);
  set(R_H, h);
  set(R_MI, mi);
  set(R_S, sec);
  set(R_ENV, ENV_RFC3164);
  return syslogTail(end);
}

/** Byte i of a word. */
@inline function byteOf(x: u64, i: i32): i32 {
  return <i32>((x >> (<u64>i << 3)) & 0xff);
}

/** parseIso() of time.ts at p: returns the end, or -1 (not a stamp / JavaScript). */
function iso(p: i32): i32 {
  const sep = b(p + 10);
  if (sep != 84 && sep != 32 && sep != 116) return -1;
  // `YYYY-MM-DDThh:mm:ss` as three words, as in rfc3164(): '0' off the digits, the separators off their places
  // (the date/time one, checked above, masked out), then every byte 0-9 and the separators' 0
  const d = w64(p) ^ 0x2d30302d30303030; // `YYYY-MM-`
  const t = w64(p + 8) ^ 0x30303a3030303030; // `DDThh:mm` ('T' as a digit)
  const u = (w32(p + 16) & 0xffffff) ^ 0x30303a; // `:ss`
  const bad = (((d + 0x7676767676767676) | d) & 0x8080808080808080) | (d & 0xff0000ff00000000);
  const badT = (((t + 0x7676767676767676) | t) & 0x8080808080808080 & ~(<u64>0x80 << 16)) | (t & 0x0000ff0000000000);
  const badU = (((u + 0x767676) | u) & 0x808080) | (u & 0xff);
  if (bad | badT | badU) return -1;
  const y = byteOf(d, 0) * 1000 + byteOf(d, 1) * 100 + byteOf(d, 2) * 10 + byteOf(d, 3);
  const mo = byteOf(d, 5) * 10 + byteOf(d, 6);
  const dd = byteOf(t, 0) * 10 + byteOf(t, 1);
  const h = byteOf(t, 3) * 10 + byteOf(t, 4);
  const mi = byteOf(t, 6) * 10 + byteOf(t, 7);
  const sec = <i32>((u >> 8) & 0xff) * 10 + <i32>(u >> 16);
  if (mo < 1 || mo > 12 || dd < 1 || (dd > 28 && dd > daysIn(y, mo)) || h > 23 || mi > 59 || sec > 60) return -1;
  let i = p + 19;
  const c = b(i);
  if (c == 46 || c == 44) {
    if (!isDigit(b(i + 1))) return -1;
    i = fraction(i + 1);
    if (i < 0) return -1;
  }
  let off = 0;
  const z = b(i);
  if (z == 90 || z == 122) {
    i++;
  } else if (z == 43 || z == 45) {
    if (!isDigit(b(i + 1)) || !isDigit(b(i + 2))) return -1;
    const oh = (b(i + 1) - 48) * 10 + b(i + 2) - 48;
    let om: i32;
    if (b(i + 3) == 58) {
      if (!isDigit(b(i + 4)) || !isDigit(b(i + 5))) return -1;
      om = (b(i + 4) - 48) * 10 + b(i + 5) - 48;
      i += 6;
    } else {
      if (!isDigit(b(i + 3)) || !isDigit(b(i + 4))) return -1;
      om = (b(i + 3) - 48) * 10 + b(i + 4) - 48;
      i += 5;
    }
    off = (oh * 60 + om) * (z == 43 ? 1 : -1);
  } else {
    return -1;
  }
  set(R_TKIND, 2);
  set(R_Y, y);
  set(R_MO, mo - 1);
  set(R_D, dd);
  set(R_H, h);
  set(R_MI, mi);
  set(R_S, sec);
  set(R_OFF, off);
  return i;
}

/** `[  499.178765] ` at p=0: dmesg, or short-monotonic when ` host kernel: ` follows. */
function bracketStamp(p: i32): i32 {
  let close = p;
  close = findByte(close, lend, 0x5d5d5d5d5d5d5d5d);
  if (close >= lend) return -1;
  const c1 = b(p + 1);
  if ((c1 >= 65 && c1 <= 90) || (c1 >= 97 && c1 <= 122)) return -1; // dmesg -T: JavaScript
  const mono = seconds(p + 1, close);
  if (isNaN(mono)) return -1;
  setMono(mono, secN, secK);
  const after = b(close + 1) == 32 ? close + 2 : close + 1;
  if (at(after, L_KERNEL, 8)) {
    // journalctl --no-hostname: `[ 1835.131574] kernel: msg` (R_HOST stays -1)
    set(R_ENV, ENV_SHORT_MONO);
    set(R_TRANSPORT, 2);
    pos = after + 8;
    return 1;
  }
  let sp = after;
  sp = findByte(sp, lend, 0x2020202020202020);
  if (sp < lend && sp > after && at(sp + 1, L_KERNEL, 8)) {
    // short-monotonic only if the first '=' comes after the host (JavaScript: s.indexOf('=', after) > sp).
    let eq = after;
    eq = findByte(eq, lend, 0x3d3d3d3d3d3d3d3d);
    if (eq < lend && eq > sp) {
      const id = internT(F_HOST, after, sp);
      if (id < 0) return -1;
      set(R_HOST, id);
      set(R_ENV, ENV_SHORT_MONO);
      set(R_TRANSPORT, 2);
      pos = sp + 9;
      return 1;
    }
  }
  set(R_ENV, ENV_DMESG);
  set(R_TRANSPORT, 1);
  pos = after;
  return 1;
}

/** `/dev/kmsg`: `prio,seq,usec,flag[,…];msg`; k is the first comma. */
function kmsg(k: i32): i32 {
  const prio = uintIn(0 + lineStart, k);
  let c2 = k + 1;
  c2 = findByte(c2, lend, 0x2c2c2c2c2c2c2c2c);
  if (c2 >= lend) return -1;
  let c3 = c2 + 1;
  c3 = findByte(c3, lend, 0x2c2c2c2c2c2c2c2c);
  let semi = c2 + 1;
  semi = findByte(semi, lend, 0x3b3b3b3b3b3b3b3b);
  if (c3 >= lend || semi >= lend || c3 > semi) return -1;
  const usec = uintIn(c2 + 1, c3);
  if (prio < 0 || prio > 0x7fffffff || usec < 0) return -1;
  setMono(<f64>usec / 1e6, usec, usec < 1000000000000000 ? 6 : -1);
  // a `\xNN` escape (bytes below 0x20, from 0x7f, and `\` itself): JavaScript reads the bytes back
  if (findByte(semi + 1, lend, 0x5c5c5c5c5c5c5c5c) < lend) return -1;
  set(R_ENV, ENV_KMSG);
  set(R_TRANSPORT, (prio >> 3) == 0 ? 1 : 2);
  pos = semi + 1;
  return 1;
}

/** `<PRI>1 TIMESTAMP HOST kernel PROCID MSGID - MSG` with p after `1 ` (structured data other than `-`: JavaScript). */
function rfc5424(p: i32): i32 {
  set(R_ENV, ENV_RFC5424);
  let q = p;
  if (b(q) == 45) {
    q++;
  } else {
    q = iso(q);
    if (q < 0) return -1;
  }
  if (b(q) != 32) return -1;
  const hostEnd = space(q + 1);
  if (hostEnd >= lend) return -1;
  if (hostEnd == q + 2 && b(q + 1) == 45) {
    set(R_HOST, -1);
  } else {
    const id = internT(F_HOST, q + 1, hostEnd);
    if (id < 0) return -1;
    set(R_HOST, id);
  }
  // app must be exactly `kernel`
  if (!at(hostEnd + 1, L_KERNEL_SP, 7)) return -1;
  const procEnd = space(hostEnd + 8);
  if (procEnd >= lend) return -1;
  const msgidEnd = space(procEnd + 1);
  if (msgidEnd >= lend) return -1;
  let i = msgidEnd + 1;
  if (b(i) != 45) return -1;
  i++;
  while (i < lend && b(i) == 32) i++;
  if (b(i) == 0xef) return -1; // a BOM: JavaScript
  set(R_TRANSPORT, 2);
  pos = i;
  return 1;
}

/** talosHostEnd() + talos() of envelope.ts. */
function talos(): i32 {
  const s0 = lineStart;
  // the first `: ` within 64 bytes of the start (bit i of the colons with bit i + 1 of the spaces; byte 64 by hand)
  const sm = byteBits(s0, 32);
  const pair = byteBits(s0, 58) & (sm >> 1);
  let colon: i32;
  if (pair != 0) colon = s0 + <i32>ctz(pair);
  else if (b(s0 + 63) == 58 && b(s0 + 64) == 32) colon = s0 + 63;
  else if (b(s0 + 64) == 58 && b(s0 + 65) == 32) colon = s0 + 64;
  else return -2; // not talos: bare
  if (colon == s0 || colon >= lend) return -2;
  // no space or '=' before it
  if ((sm | byteBits(s0, 61)) & mask64(colon - s0)) return -2;
  let j = colon + 2;
  while (b(j) == 32) j++;
  if (!(b(j) >= 97 && b(j) <= 122)) return -2;
  // talos(): facility, level, [ISO]:
  let i = colon + 1;
  while (b(i) == 32) i++;
  let facEnd = i;
  while (facEnd < lend && b(facEnd) != 58) facEnd++;
  if (facEnd >= lend || facEnd - i > 8) return -1;
  const kern = facEnd - i == 4 && w32(i) == L_KERN;
  i = facEnd + 1;
  while (b(i) == 32) i++;
  let lvlEnd = i;
  while (lvlEnd < lend && b(lvlEnd) != 58) lvlEnd++;
  if (lvlEnd >= lend || lvlEnd - i > 8) return -1;
  i = lvlEnd + 1;
  while (b(i) == 32) i++;
  if (b(i) != 91) return -1;
  const r = iso(i + 1);
  if (r < 0 || b(r) != 93) return -1;
  const id = internT(F_HOST, s0, colon);
  if (id < 0) return -1;
  set(R_HOST, id);
  set(R_ENV, ENV_TALOS);
  set(R_TRANSPORT, kern ? 1 : 2);
  let m = r + 1;
  if (b(m) == 58) m++;
  if (b(m) == 32) m++;
  pos = m;
  return 1;
}

let lineStart: i32 = 0;

/**
 * journalctl short-unix, `1713780001.123456 host kernel: `: epoch seconds in [s, k), fraction digits in (k, j).
 * As decodeEnvelope(): the time is seconds × 1000 plus the fraction in ms, shown with its digits as written. More
 * digits than the record keeps exactly: JavaScript.
 */
function shortUnix(s: i32, k: i32, j: i32): i32 {
  if (k - s > 12) return -1;
  const secs = uintIn(s, k);
  if (secs < 0 || fraction(k + 1) != j) return -1;
  store<f64>(<usize>(rec + R_USEC * 4), <f64>secs);
  set(R_TKIND, 4);
  set(R_ENV, ENV_SHORT_UNIX);
  return syslogTail(j);
}

/** The envelope of the line at lineStart. 1 ok (pos at the message), 0 skip, -1 fallback. */
function envelope(): i32 {
  const s = lineStart;
  const c0 = b(s);
  if (c0 == 60) {
    // `<PRI>`: one to three digits, as decodeEnvelope() takes them
    let gt = s + 1;
    while (gt < s + 4 && b(gt) != 62) gt++;
    if (b(gt) != 62 || gt - s < 2) return -1;
    if (uintIn(s + 1, gt) < 0) return -1;
    const p = gt + 1;
    if (b(p) == 49 && b(p + 1) == 32) return rfc5424(p + 2);
    // a syslog header after the priority, as a relay or `logger` writes it (`<4>Apr 22 10:00:01 host kernel: `)
    if (b(p + 3) == 32) {
      const mo = monthAt(p);
      if (mo >= 0) return rfc3164(p, mo);
    }
    if (isDigit(b(p)) && b(p + 4) == 45) {
      const e = iso(p);
      if (e < 0) return -1;
      set(R_ENV, ENV_RFC3339);
      return syslogTail(e);
    }
    return -1; // dmesg -r (`<4>[ …`), a bare message: JavaScript
  }
  if (c0 == 91) return bracketStamp(s);
  if (isDigit(c0)) {
    let k = s + 1;
    while (isDigit(b(k))) k++;
    const ck = b(k);
    if (ck == 44) return kmsg(k);
    if (ck == 45 && k == s + 4) {
      if (b(s + 19) == 44) return -1; // dmesg --time-format iso (`…:01,123456+00:00 msg`): JavaScript
      const e = iso(s);
      if (e < 0) return -1;
      set(R_ENV, ENV_RFC3339);
      return syslogTail(e);
    }
    if (ck == 46) {
      let j = k + 1;
      while (isDigit(b(j))) j++;
      if (b(j) == 32 && j > k + 1) return shortUnix(s, k, j);
    }
  }
  const c1 = b(s + 1);
  if (c0 >= 65 && c0 <= 90 && c1 >= 97 && c1 <= 122 && b(s + 3) == 32) {
    const mo = monthAt(s);
    if (mo >= 0) return rfc3164(s, mo);
    if (isDigit(b(s + 4)) && b(s + 8) == 45) return -1; // journalctl short-full (`Mon 2024-04-22 …`): JavaScript
  }
  if (c0 == 123) return journalJson();
  if (c0 == 95) return -1; // journal export: JavaScript
  if (c0 == 32 && w32(s) == 0x20202020) return -1; // journalctl -o verbose's fields: JavaScript
  // journalctl json-seq (a record separator first) and json-sse (`data: `): JavaScript
  if (c0 == 0x1e || (c0 == 100 && at(s, L_DATA_SP, 7))) return -1;
  if (c0 >= 97 && c0 <= 122 && decodedAt(s)) return -1; // dmesg -x (`kern  :warn  : `): JavaScript
  const t = talos();
  if (t != -2) return t;
  set(R_ENV, ENV_BARE);
  set(R_HOST, -1);
  set(R_TRANSPORT, 0);
  pos = s;
  return 1;
}

/** Could a `dmesg -x` facility and level (`kern  :warn  : `, `authpriv:info  : `) start at p? */
function decodedAt(p: i32): bool {
  let i = p + 1;
  while (i < p + 8 && ((b(i) >= 97 && b(i) <= 122) || isDigit(b(i)))) i++;
  while (i < p + 9 && b(i) == 32) i++;
  return b(i) == 58 && b(i + 1) >= 97 && b(i + 1) <= 122;
}

/** First index ≥ from (before lend) where the n-byte literal starts, or -1. */
function find(from: i32, lit: u64, n: i32): i32 {
  const c0 = <i32>(lit & 0xff);
  for (let i = from; i + n <= lend; i++) {
    if (b(i) == c0 && at(i, lit, n)) return i;
  }
  return -1;
}

/** All digits in [a, e) → value; -1 when empty or not all digits; -2 when 2^53 or more (JavaScript's). */
function digitsIn(a: i32, e: i32): i64 {
  const n = e - a;
  if (n <= 0) return -1;
  if (n <= 16) {
    // eight digits at a time (uintIn())
    if (n <= 8) return <i64>numN(a, n, 8);
    const hi = numN(a, n - 8, 8);
    const lo = numN(a + n - 8, 8, 8);
    if ((hi | lo) < 0) return -1;
    const v = <i64>hi * 100000000 + <i64>lo;
    return v > 0x1fffffffffffff ? -2 : v;
  }
  for (let i = a; i < e; i++) if (!isDigit(b(i))) return -1;
  return -2;
}

/**
 * The first byte at or after p that ends or escapes a JSON string: '"', '\\' or a control byte, sixteen bytes at a
 * time (every line ends in '\n', a control byte).
 */
@inline function jsonSpecial(p: i32): i32 {
  const quote = i8x16.splat(34);
  const bslash = i8x16.splat(92);
  const space = i8x16.splat(32);
  for (;;) {
    const v = v128.load(<usize>p);
    const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, bslash)), i8x16.lt_u(v, space)));
    if (m != 0) return p + <i32>ctz(m);
    p += 16;
  }
  return p;
}

/**
 * `journalctl -o json`: one object of string values, as journald writes it (no spaces, no escapes). Anything else
 * (escapes, arrays, numbers, whitespace) → JavaScript, which runs JSON.parse. Only a kernel MESSAGE with a LOG
 * body makes an event here; the message becomes the span [pos, lend) the body is read from.
 */
function journalJson(): i32 {
  let p = lineStart + 1;
  const end = lend;
  let msgA = -1;
  let msgE = -1;
  let tKernel = false;
  let identKernel = false;
  /** SYSLOG_FACILITY other than 0: a record userspace wrote to /dev/kmsg (journald gives it _TRANSPORT=kernel too) */
  let facUser = false;
  let hostA = -1;
  let hostE = -1;
  let rtA = -1;
  let rtE = -1;
  let monoA = -1;
  let monoE = -1;
  if (b(p) == 125) return -1; // {}
  let more = true;
  while (more) {
    if (b(p) != 34) return -1;
    const ka = p + 1;
    let q = jsonSpecial(ka);
    if (q >= end || b(q) != 34) return -1;
    const kn = q - ka;
    if (b(q + 1) != 58 || b(q + 2) != 34) return -1;
    const va = q + 3;
    q = jsonSpecial(va);
    if (q >= end || b(q) != 34) return -1;
    const ve = q;
    const c0 = b(ka);
    if (c0 == 77 && kn == 7 && at(ka, L_MESSAGE, 7)) {
      msgA = va;
      msgE = ve;
    } else if (c0 == 95) {
      const k0 = w64(ka);
      if (kn == 10 && k0 == L__TRANSPO && load<u16>(<usize>(ka + 8)) == 0x5452) tKernel = ve - va == 6 && at(va, L_KERNEL_W, 6);
      else if (kn == 9 && k0 == L__HOSTNAM && b(ka + 8) == 69) {
        hostA = va;
        hostE = ve;
      } else if (kn == 20 && k0 == L_REALTIME && w64(ka + 8) == L_ME_TIMES && w32(ka + 16) == L_TAMP) {
        rtA = va;
        rtE = ve;
      } else if (kn == 27 && k0 == L__SOURCE_ && w64(ka + 8) == L_MONOTONI && w64(ka + 16) == L_C_TIMEST && w32(ka + 23) == L_TAMP) {
        monoA = va;
        monoE = ve;
      }
    } else if (c0 == 83 && kn == 17 && w64(ka) == L_SYSLOG_I && w64(ka + 8) == L_DENTIFIE && b(ka + 16) == 82) {
      identKernel = ve - va == 6 && at(va, L_KERNEL_W, 6);
    } else if (c0 == 83 && kn == 15 && w64(ka) == L_SYSLOG_F && w64(ka + 7) == L_FACILITY) {
      facUser = ve - va != 1 || b(va) != 48;
    }
    p = ve + 1;
    const c = b(p);
    if (c == 44) {
      p++;
    } else if (c == 125 && p + 1 == end) {
      more = false;
    } else {
      return -1;
    }
  }
  // the kernel's own record: _TRANSPORT=kernel, and no facility but 0 (journalEnvelope())
  const kern = tKernel && !facUser;
  if (msgA < 0 || (!kern && !identKernel)) return -1;
  set(R_ENV, ENV_JOURNAL_JSON);
  set(R_TRANSPORT, kern ? 1 : 2);
  if (rtA >= 0) {
    const us = digitsIn(rtA, rtE);
    if (us == -2) return -1;
    if (us >= 0) {
      store<f64>(<usize>(rec + R_USEC * 4), <f64>us);
      set(R_TKIND, 3);
    }
  }
  if (monoA >= 0) {
    const mv = digitsIn(monoA, monoE);
    if (mv == -2) return -1;
    if (mv >= 0) {
      setMono(<f64>mv / 1e6, mv, mv < 1000000000000000 ? 6 : -1);
    }
  }
  if (hostA >= 0) {
    const id = internT(F_HOST, hostA, hostE);
    if (id < 0) return -1;
    set(R_HOST, id);
  }
  pos = msgA;
  lend = msgE;
  return 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The LOG body.

// The packet parsers write the slots of the packet at `o` (a byte address: rec + P_OUTER * 4 or rec + P_INNER * 4),
// which they take as a parameter: a wasm global would be loaded again for every store.
@inline function setAt(o: i32, slot: i32, v: i32): void {
  store<i32>(<usize>(o + slot * 4), v);
}
@inline function setAtU(o: i32, slot: i32, v: u32): void {
  store<u32>(<usize>(o + slot * 4), v);
}

/** `SRC=… DST=… ` IPv4 or full-form IPv6 at p → vend(family, end), or 0. */
@inline function addresses(p: i32, o: i32): i64 {
  if (!at(p, L_SRC, 4)) return 0;
  if (b(p + 8) != 58) {
    // IPv4 addresses seen before: both ends from one bitmask of spaces, both looked up side by side
    let m = spaceBits(p);
    const e1 = p + <i32>ctz(m);
    m &= m - 1;
    const e2 = p + <i32>ctz(m);
    if (at(e1, L_SP_DST, 5)) {
      const src = v4Seen(p + 4, e1 - p - 4);
      const dst = v4Seen(e1 + 5, e2 - e1 - 5);
      if ((src | dst) >= 0) {
        setAt(o, P_SRC, src);
        setAt(o, P_DST, dst);
        setAt(o, P_FAMILY, 4);
        return vend(4, e2);
      }
    }
  }
  let r = addr(p + 4, F_SRC);
  if (r == 0) return 0;
  const fam = valOf(r);
  const src = lastAddr;
  p = endOf(r);
  if (!at(p, L_SP_DST, 5)) return 0;
  r = addr(p + 5, F_DST);
  if (r == 0 || valOf(r) != fam) return 0;
  setAt(o, P_SRC, src);
  setAt(o, P_DST, lastAddr);
  setAt(o, P_FAMILY, fam);
  return r;
}
let lastAddr: i32 = 0;

/**
 * One address at p: dotted quad (1-3 digits each) → vend(4, end), eight groups of 4 lowercase hex → vend(6, end);
 * 0 otherwise. Its id goes to `lastAddr`.
 */
@inline function addr(p: i32, field: i32): i64 {
  const a = p;
  if (b(p + 4) == 58) {
    for (let g = 0; g < 8; g++) {
      for (let k = 0; k < 4; k++) {
        const c = b(p + k);
        if (!(isDigit(c) || (c >= 97 && c <= 102))) return 0;
      }
      p += 4;
      if (g < 7) {
        if (b(p) != 58) return 0;
        p++;
      }
    }
    if (b(p) != 32) return 0;
    const id = internT(field, a, p);
    if (id < 0) return 0;
    lastAddr = id;
    return vend(6, p);
  }
  // Seen before: the same bytes, up to the space, as an address read below (one 16-byte load finds the space).
  const m = i8x16.bitmask(i8x16.eq(v128.load(<usize>p), i8x16.splat(32)));
  if (m != 0) {
    const n = <i32>ctz(m);
    if (n >= 7) {
      const k0 = v4fKey0(p, n);
      const k1 = v4fKey1(p, n);
      const fslot = v4fSlot(k0, k1);
      if (load<u64>(<usize>fslot) == k0 && load<u64>(<usize>(fslot + 8)) == k1) {
        lastAddr = load<i32>(<usize>v4fIdAt(fslot));
        return vend(4, p + n);
      }
    }
  }
  // Dotted quad, as the kernel prints it (%pI4): 1-3 digits a group, no leading zero (anything else is read by
  // JavaScript). Then the groups' values name the text exactly, and a small direct-mapped table keyed by them finds
  // the id without hashing the bytes.
  let key: u64 = 0;
  for (let g = 0; g < 4; g++) {
    const s = p;
    let v: u32 = 0;
    while (isDigit(b(p)) && p - s < 4) {
      v = v * 10 + <u32>(b(p) - 48);
      p++;
    }
    if (p == s || p - s > 3 || (p - s > 1 && b(s) == 48)) return 0;
    key = (key << 10) | <u64>v;
    if (g < 3) {
      if (b(p) != 46) return 0;
      p++;
    }
  }
  if (b(p) != 32) return 0;
  key += 1; // 0 marks an empty slot
  const slot = V4_BASE + (<i32>((key * 0x9e3779b97f4a7c15) >> 52) << 4);
  let id: i32;
  if (load<u64>(<usize>slot) == key) {
    id = load<i32>(<usize>(slot + 8));
  } else {
    id = intern(a, p);
    if (id < 0) return 0;
    store<u64>(<usize>slot, key);
    store<i32>(<usize>(slot + 8), id);
  }
  lastAddr = id;
  // for the look-up above
  const n = p - a;
  const k0 = v4fKey0(a, n);
  const k1 = v4fKey1(a, n);
  const fslot = v4fSlot(k0, k1);
  store<u64>(<usize>fslot, k0);
  store<u64>(<usize>(fslot + 8), k1);
  store<i32>(<usize>v4fIdAt(fslot), id);
  return vend(4, p);
}

/** The id of the IPv4 address text of n bytes at a when the text table has it (addr() put it there), else -1. */
@inline function v4Seen(a: i32, n: i32): i32 {
  if (<u32>(n - 7) > 8) return -1;
  const k0 = v4fKey0(a, n);
  const k1 = v4fKey1(a, n);
  const fslot = v4fSlot(k0, k1);
  if (load<u64>(<usize>fslot) == k0 && load<u64>(<usize>(fslot + 8)) == k1) return load<i32>(<usize>v4fIdAt(fslot));
  return -1;
}

// The IPv4 text table (V4F): the address's n (7-15) bytes as two words, the length in the second's top byte (the
// text fills at most 7 of its bytes), direct-mapped by a hash of both; a slot's id sits in a parallel array.
@inline function v4fKey0(a: i32, n: i32): u64 {
  return w64(a) & mask(n);
}
@inline function v4fKey1(a: i32, n: i32): u64 {
  return n > 8 ? (w64(a + 8) & mask(n - 8)) | (<u64>n << 56) : <u64>n << 56;
}
@inline function v4fSlot(k0: u64, k1: u64): i32 {
  return V4F_BASE + (<i32>(((k0 ^ rotl<u64>(k1, 29)) * 0x9e3779b97f4a7c15) >> 52) << 4);
}
@inline function v4fIdAt(slot: i32): i32 {
  return V4F_IDS + ((slot - V4F_BASE) >> 2);
}

/** The IPv4 flag words at p — CE, DF, MF, each with its space, in that order — → vend(bits 1/2/4, end). DF comes and
 * goes from line to line: no branch for it. */
@inline function ipFlagWords(p: i32): i64 {
  let fl = 0;
  if ((w32(p) & 0xffffff) == L_CE_SP) {
    fl = 1;
    p += 3;
  }
  const df = <i32>((w32(p) & 0xffffff) == L_DF_SP);
  fl |= df << 1;
  p += df * 3;
  if ((w32(p) & 0xffffff) == L_MF_SP) {
    fl |= 4;
    p += 3;
  }
  return vend(<i64>fl, p);
}

/** IP header fields after the addresses, up to and including `PROTO=`, at p; family 4 or 6. The end, or -1. */
@inline function ipHeader(p: i32, o: i32, fam: i32): i32 {
  if (!at(p, L_SP_LEN, 5)) return -1;
  let r = num(p + 5, 5);
  if (r < 0) return -1;
  setAt(o, P_LEN, valOf(r));
  p = endOf(r);
  if (fam == 4) {
    let tos = 0;
    let prec = 0;
    if (w64(p) == L_TOS00_0 && w64(p + 8) == L_TOS00_1 && w64(p + 16) == L_TOS00_2) {
      // ` TOS=0x00 PREC=0x00 TTL=`, nearly every line: three compares
      p += 24;
    } else {
      if (!at(p, L_SP_TOS_0X, 7)) return -1;
      tos = hex2(p + 7, true);
      if (tos < 0) return -1;
      p += 9;
      if (!at(p, L_SP_PREC_0X, 8)) return -1;
      prec = hex2(p + 8, true);
      if (prec < 0) return -1;
      p += 10;
      if (!at(p, L_SP_TTL, 5)) return -1;
      p += 5;
    }
    r = num(p, 3);
    if (r < 0) return -1;
    const ttl = valOf(r);
    p = endOf(r);
    if (!at(p, L_SP_ID, 4)) return -1;
    r = num(p + 4, 5);
    if (r < 0) return -1;
    const id = valOf(r);
    p = endOf(r);
    if (b(p) != 32) return -1;
    p++;
    r = ipFlagWords(p);
    const fl = valOf(r);
    p = endOf(r);
    setAt(o, P_TOS, tos);
    setAt(o, P_PREC, prec);
    setAt(o, P_TTL, ttl);
    setAt(o, P_ID, id);
    setAt(o, P_IPFLAGS, fl);
  } else {
    if (!at(p, L_SP_TC, 4)) return -1;
    r = num(p + 4, 3);
    if (r < 0) return -1;
    const tc = valOf(r);
    p = endOf(r);
    if (!at(p, L_SP_HOPLIMI, 8) || !at(p + 8, L_T_EQ, 2)) return -1;
    r = num(p + 10, 3);
    if (r < 0) return -1;
    const hop = valOf(r);
    p = endOf(r);
    if (!at(p, L_SP_FLOWLBL, 8) || b(p + 8) != 61) return -1;
    r = num(p + 9, 7);
    if (r < 0) return -1;
    const fl = valOf(r);
    p = endOf(r);
    if (b(p) != 32) return -1;
    p++;
    setAt(o, P_TC, tc);
    setAt(o, P_HOP, hop);
    setAt(o, P_FLOWLBL, fl);
  }
  if (!at(p, L_PROTO, 6)) return -1;
  return p + 6;
}

// TCP's three-letter flag words with their space, as 32-bit loads, by a perfect hash ((word * FLAG_MUL) >>> 28):
// slot → (bit << 32) | word, 0 for a free slot. Bits as P_TCPFLAGS numbers them (AE, bit 0, has two letters).
const FLAG_MUL: u32 = 0x2265b1f5;
const FLAG_SLOTS: StaticArray<u64> = [
  (<u64>6 << 32) | L_RST_SP,
  (<u64>4 << 32) | L_ACK_SP,
  0,
  (<u64>1 << 32) | L_CWR_SP,
  (<u64>8 << 32) | L_FIN_SP,
  (<u64>7 << 32) | L_SYN_SP,
  (<u64>5 << 32) | L_PSH_SP,
  (<u64>2 << 32) | L_ECE_SP,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  (<u64>3 << 32) | L_URG_SP,
];

/** Flag words at p (after `RES=0x.. `), strictly in kernel order → vend(bits, end); -1 when out of order. */
@inline function tcpFlags(p: i32): i64 {
  let bits = 0;
  if ((w32(p) & 0xffffff) == L_AE_SP) {
    bits = 1;
    p += 3;
  }
  for (;;) {
    // a word and its space as one 32-bit load (`URGP=` starts like URG but has no space there)
    const w = w32(p);
    const e = unchecked(FLAG_SLOTS[(w * FLAG_MUL) >>> 28]);
    if (<u32>e != w) break;
    const f = <i32>(e >> 32);
    // a word after a later one (bits holds only earlier ones when in order)
    if (bits >> f != 0) return -1;
    bits |= 1 << f;
    p += 4;
  }
  return vend(<i64>bits, p);
}

/** `a DPT=b` at p (the digits after `SPT=`), TCP's and UDP's alike: both ports into the packet slots → the end, or -1. */
@inline function ports(p: i32, o: i32): i32 {
  let r = num(p, 5);
  if (r < 0) return -1;
  setAt(o, P_SPT, valOf(r));
  p = endOf(r);
  if (!at(p, L_SP_DPT, 5)) return -1;
  r = num(p + 5, 5);
  if (r < 0) return -1;
  setAt(o, P_DPT, valOf(r));
  return endOf(r);
}

/** The transport header after `PROTO=`, at p; inner: inside `[…]` of an ICMP error. The end, or -1. */
function transport(p: i32, o: i32, inner: bool, fam: i32): i32 {
  const c = b(p);
  if (c == 84 && at(p, L_TCP_SPT, 8)) {
    const q = tcpFast(p + 3, o);
    if (q >= 0) return q;
    p = ports(p + 8, o);
    if (p < 0) return -1;
    setAt(o, P_PROTO, 1);
    setAt(o, P_HASSEQ, 0);
    if (at(p, L_SP_SEQ, 5)) {
      const seq = numU32(p + 5);
      if (seq < 0) return -1;
      p = numEnd;
      if (!at(p, L_SP_ACK, 5)) return -1;
      const ack = numU32(p + 5);
      if (ack < 0) return -1;
      p = numEnd;
      setAtU(o, P_SEQ, <u32>seq);
      setAtU(o, P_ACK, <u32>ack);
      setAt(o, P_HASSEQ, 1);
    }
    if (!at(p, L_SP_WINDOW, 8)) return -1;
    let r = num(p + 8, 5);
    if (r < 0) return -1;
    const win = valOf(r);
    p = endOf(r);
    let res = 0;
    // `RES=0x00 `, nearly always
    if (w64(p) != L_SP_RES_0X0 || load<u16>(<usize>(p + 8)) != 0x2030) {
      if (!at(p, L_SP_RES_0X, 7)) return -1;
      res = hex2(p + 7, false);
      if (res < 0 || b(p + 9) != 32) return -1;
    }
    r = tcpFlags(p + 10);
    if (r < 0) return -1;
    const fl = valOf(r);
    p = endOf(r);
    if (!at(p, L_URGP, 5)) return -1;
    r = num(p + 5, 5);
    if (r < 0) return -1;
    setAt(o, P_WINDOW, win);
    setAt(o, P_RES, res);
    setAt(o, P_TCPFLAGS, fl);
    setAt(o, P_URGP, valOf(r));
    return endOf(r);
  }
  if (c == 85 && at(p, L_UDP_SPT, 8)) {
    const u = portsFast(p + 3, o, L_SP_LEN, 5);
    if (u >= 0) {
      setAt(o, P_PROTO, 2);
      setAt(o, P_UDPLEN, valOf(u));
      return endOf(u);
    }
    p = ports(p + 8, o);
    if (p < 0 || !at(p, L_SP_LEN, 5)) return -1;
    const r = num(p + 5, 5);
    if (r < 0) return -1;
    setAt(o, P_PROTO, 2);
    setAt(o, P_UDPLEN, valOf(r));
    return endOf(r);
  }
  if (c == 73) {
    let v6 = false;
    if (at(p, L_ICMP_TY, 8) && at(p + 6, L_YPE, 4)) {
      p += 10;
    } else if (at(p, L_ICMPV6_T, 8) && at(p + 8, L_YPE, 4)) {
      p += 12;
      v6 = true;
    } else {
      return -1;
    }
    if ((fam == 6) != v6) return -1;
    let r = num(p, 3);
    if (r < 0) return -1;
    const type = valOf(r);
    p = endOf(r);
    if (!at(p, L_SP_CODE, 6)) return -1;
    r = num(p + 6, 3);
    if (r < 0) return -1;
    const code = valOf(r);
    p = endOf(r);
    setAt(o, P_PROTO, v6 ? 4 : 3);
    setAt(o, P_ITYPE, type);
    setAt(o, P_ICODE, code);
    setAt(o, P_HASIDSEQ, 0);
    // an error carries its quoted packet, not ID= SEQ=: a line that says otherwise goes to JavaScript
    const error = v6 ? type >= 1 && type <= 4 : type == 3 || type == 4 || type == 5 || type == 11;
    if (at(p, L_SP_ID, 4)) {
      if (error) return -1;
      r = num(p + 4, 5);
      if (r < 0) return -1;
      const id = valOf(r);
      p = endOf(r);
      if (!at(p, L_SP_SEQ, 5)) return -1;
      r = num(p + 5, 5);
      if (r < 0) return -1;
      setAt(o, P_IID, id);
      setAt(o, P_ISEQ, valOf(r));
      setAt(o, P_HASIDSEQ, 1);
      return endOf(r);
    }
    if (!inner && b(p) == 32 && b(p + 1) == 91) {
      // `[SRC=… ]`: the quoted packet, one level.
      const io = rec + P_INNER * 4;
      const q = packet(p + 2, io, true);
      const innerFam = load<i32>(<usize>(io + P_FAMILY * 4));
      if (q < 0 || innerFam != fam) return -1;
      if (b(q) != 32 || b(q + 1) != 93) return -1;
      set(R_INNER, 1);
      return q + 2;
    }
    // An echo without its ID= SEQ=, an error without its quoted packet: the line was cut (or INCOMPLETE);
    // JavaScript says which.
    if (error || (v6 ? type == 128 || type == 129 : type == 0 || type == 8)) return -1;
    return p;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Fast paths for the usual IPv4 header and TCP/UDP header. A field found by its digits (num()) can only be looked
// for once the field before it has ended: every field waits for the one before. These take the spaces of the next
// 64 bytes as one bitmask instead, so each field's end is the next bit (m &= m - 1; ctz), known before the field
// before it is read, and the fields are read side by side. Anything else — another layout, a field out of range,
// a line ending early (the bitmask also sees the bytes after the line: such a field then holds a byte that is not
// a digit, or runs on past the window) — returns -1 and the general code above reads the header instead.

/** Bit i: a space at p + i, for the 64 bytes at p (the input area has slack after every line). */
@inline function spaceBits(p: i32): u64 {
  return byteBits(p, 32);
}

/** Bit i: byte c at p + i, for the 64 bytes at p. */
@inline function byteBits(p: i32, c: i32): u64 {
  const v = i8x16.splat(<i8>c);
  const m0 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p), v));
  const m1 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 16), v));
  const m2 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 32), v));
  const m3 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 48), v));
  return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

/** The n bytes at a, all decimal digits, 1 ≤ n ≤ max ≤ 8 → their value; -1 otherwise. As num(), the end known. */
@inline function numN(a: i32, n: i32, max: i32): i32 {
  if (<u32>(n - 1) >= <u32>max) return -1;
  // the digits at the top of the word: the bytes after them shift out, zeros (leading zeros) shift in
  let v = (w64(a) ^ 0x3030303030303030) << (<u64>(8 - n) << 3);
  if (((v + 0x7676767676767676) | v) & 0x8080808080808080) return -1;
  v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ff;
  v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffff;
  v = (v * 10000 + (v >> 32)) & 0xffffffff;
  return <i32>v;
}

/** numN() for at most 4 digits, in one 32-bit word. */
@inline function numN4(a: i32, n: i32, max: i32): i32 {
  if (<u32>(n - 1) >= <u32>max) return -1;
  let v = (w32(a) ^ 0x30303030) << (<u32>(4 - n) << 3);
  if (((v + 0x76767676) | v) & 0x80808080) return -1;
  v = (v * 10 + (v >> 8)) & 0x00ff00ff;
  v = (v * 100 + (v >> 16)) & 0xffff;
  return <i32>v;
}

/** ipHeader() for IPv4 with ` TOS=0x00 PREC=0x00 `: p at the space before `LEN=`. */
@inline function ip4Fast(p: i32, o: i32): i32 {
  if (!at(p, L_SP_LEN, 5)) return -1;
  let m = spaceBits(p);
  m &= m - 1;
  const e1 = p + <i32>ctz(m); // after LEN's digits
  if (w64(e1) != L_TOS00_0 || w64(e1 + 8) != L_TOS00_1 || w64(e1 + 16) != L_TOS00_2) return -1;
  // past the spaces before TOS=, PREC= and TTL= (the literal holds them): the next one ends TTL's digits
  m &= m - 1;
  m &= m - 1;
  m &= m - 1;
  const e2 = p + <i32>ctz(m);
  m &= m - 1;
  const e3 = p + <i32>ctz(m);
  if (!at(e2, L_SP_ID, 4)) return -1;
  const len = numN(p + 5, e1 - p - 5, 5);
  const ttl = numN4(e1 + 24, e2 - e1 - 24, 3);
  const id = numN(e2 + 4, e3 - e2 - 4, 5);
  if ((len | ttl | id) < 0) return -1;
  const rf = ipFlagWords(e3 + 1);
  const fl = valOf(rf);
  const q = endOf(rf);
  if (!at(q, L_PROTO, 6)) return -1;
  setAt(o, P_LEN, len);
  setAt(o, P_TOS, 0);
  setAt(o, P_PREC, 0);
  setAt(o, P_TTL, ttl);
  setAt(o, P_ID, id);
  setAt(o, P_IPFLAGS, fl);
  return q + 6;
}

/**
 * `SPT=a DPT=b` and the field after (`LEN=` of UDP, `WINDOW=` of TCP, key of `klen` bytes with its space) as
 * transport() reads them: p at the space before `SPT=`. Ports into the packet slots → vend(third value, its end), or
 * -1 (`key`: the key with its space, packed).
 */
@inline function portsFast(p: i32, o: i32, key: u64, klen: i32): i64 {
  let m = spaceBits(p);
  m &= m - 1;
  const e1 = p + <i32>ctz(m);
  m &= m - 1;
  const e2 = p + <i32>ctz(m);
  m &= m - 1;
  const e3 = p + <i32>ctz(m);
  if (!at(p, L_SP_SPT, 5) || !at(e1, L_SP_DPT, 5) || !at(e2, key, klen)) return -1;
  const spt = numN(p + 5, e1 - p - 5, 5);
  const dpt = numN(e1 + 5, e2 - e1 - 5, 5);
  const v = numN(e2 + klen, e3 - e2 - klen, 5);
  if ((spt | dpt | v) < 0) return -1;
  setAt(o, P_SPT, spt);
  setAt(o, P_DPT, dpt);
  return vend(v, e3);
}

/** The TCP header after `TCP` (p at the space before `SPT=`) without SEQ=/ACK= and with `RES=0x00`; -1 otherwise. */
@inline function tcpFast(p: i32, o: i32): i32 {
  const r = portsFast(p, o, L_SP_WINDOW, 8);
  if (r < 0) return -1;
  p = endOf(r);
  if (w64(p) != L_SP_RES_0X0 || load<u16>(<usize>(p + 8)) != 0x2030) return -1;
  const f = tcpFlags(p + 10);
  if (f < 0) return -1;
  p = endOf(f);
  if (!at(p, L_URGP, 5)) return -1;
  const u = num(p + 5, 5);
  if (u < 0) return -1;
  setAt(o, P_PROTO, 1);
  setAt(o, P_HASSEQ, 0);
  setAt(o, P_WINDOW, valOf(r));
  setAt(o, P_RES, 0);
  setAt(o, P_TCPFLAGS, valOf(f));
  setAt(o, P_URGP, valOf(u));
  return endOf(u);
}

/** Addresses, IP header and transport header at p into the current packet slots. The end, or -1. */
function packet(p: i32, o: i32, inner: bool): i32 {
  const r = addresses(p, o);
  if (r == 0) return -1;
  const fam = valOf(r);
  let q = fam == 4 ? ip4Fast(endOf(r), o) : -1;
  if (q < 0) {
    q = ipHeader(endOf(r), o, fam);
    if (q < 0) return -1;
  }
  return transport(q, o, inner, fam);
}

// The start of the last message body() read, up to and with the space after OUT's value (at most 64 bytes, copied
// at SPAN_BASE; spanLen 0: none), where its prefix, IN= and OUT= were (offsets from the start) and their ids. Most
// lines start the same way: then one compare finds them all. (findBodyStart()'s answer depends only on these bytes:
// every `IN=` it turns down before the body has its next space before it, else that `IN=` would be the body.)
let spanLen = 0;
let spanBody = 0;
let spanIn = 0;
let spanOut = 0;
let spanPid = 0;
let spanInId = 0;
let spanOutId = 0;

/** Do the spanLen bytes at p equal the remembered ones? */
@inline function sameSpan(p: i32): bool {
  const s = SPAN_BASE;
  const e0 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p), v128.load(<usize>s)));
  const e1 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 16), v128.load(<usize>s, 16)));
  const e2 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 32), v128.load(<usize>s, 32)));
  const e3 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 48), v128.load(<usize>s, 48)));
  return (~(e0 | (e1 << 16) | (e2 << 32) | (e3 << 48)) & mask64(spanLen)) == 0;
}

/** The body from pos (message start): prefix, IN= OUT= [MAC=] packet [UID= GID=] [MARK=] and the line's end. */
function body(): i32 {
  const msg = pos;
  const end = lend;
  let bodyAt: i32;
  let inEnd: i32;
  let outEnd: i32;
  let pid: i32;
  let inId: i32;
  let outId: i32;
  if (spanLen != 0 && spanLen <= end - msg && sameSpan(msg)) {
    bodyAt = msg + spanBody;
    inEnd = msg + spanIn;
    outEnd = msg + spanOut;
    pid = spanPid;
    inId = spanInId;
    outId = spanOutId;
  } else {
    // findBodyStart(): the first `IN=` whose token is followed by ` OUT=`. Every `IN=` has its '=' two bytes on, so
    // look at each '=' (eight bytes at a time) rather than at each byte.
    bodyAt = -1;
    inEnd = -1;
    let q = msg + 2;
    while (q < end) {
      q = findByte(q, end, 0x3d3d3d3d3d3d3d3d);
      if (q >= end) break;
      if (b(q - 2) == 73 && b(q - 1) == 78) {
        const sp = space(q + 1);
        if (sp >= end) break;
        if (w32(sp + 1) == L_OUT_EQ) {
          bodyAt = q - 2;
          inEnd = sp;
          break;
        }
        // every other `IN=` before that space has the same next space: go on after it (a run of `IN=` stays linear)
        q = sp + 3;
        continue;
      }
      q++;
    }
    if (bodyAt < 0) {
      // No LOG body: not a drop (skip) — unless it plainly tries to be one (SRC=, DST=, PROTO= without IN=/OUT=),
      // which JavaScript reports as an issue.
      if (find(msg, L_SRC, 4) >= 0 && find(msg, L_SP_DST, 5) >= 0 && find(msg, L_SP_PROTO, 7) >= 0) return -1;
      // journalctl's `[221B blob data]` in place of a message that is not UTF-8: JavaScript reports it
      if (b(msg) == 91 && lend - msg >= 14 && at(lend - 11, L_SP_BLOB, 5) && at(lend - 6, L_SP_DATA_CLOSE, 6)) return -1;
      return 2;
    }
    if (at(msg, L_NF_CT, 6)) return -1; // conntrack INVALID prefix (`nf_ct_proto_6: `, `nf_ct_tcp: `): JavaScript
    pid = internF(F_PREFIX, msg, bodyAt);
    if (pid < 0) return -1;
    // IN's value ends where the search found ` OUT=`, OUT's at the next space
    const m = spaceBits(inEnd) & ~(<u64>1);
    outEnd = m != 0 ? inEnd + <i32>ctz(m) : space(inEnd + 64);
    inId = internF(F_IN, bodyAt + 3, inEnd);
    if (inId < 0) return -1;
    if (outEnd >= lend) return -1;
    outId = internF(F_OUT, inEnd + 5, outEnd);
    if (outId < 0) return -1;
    const n = outEnd + 1 - msg;
    if (n <= 64) {
      v128.store(<usize>SPAN_BASE, v128.load(<usize>msg));
      v128.store(<usize>SPAN_BASE, v128.load(<usize>msg, 16), 16);
      v128.store(<usize>SPAN_BASE, v128.load(<usize>msg, 32), 32);
      v128.store(<usize>SPAN_BASE, v128.load(<usize>msg, 48), 48);
      spanLen = n;
      spanBody = bodyAt - msg;
      spanIn = inEnd - msg;
      spanOut = outEnd - msg;
      spanPid = pid;
      spanInId = inId;
      spanOutId = outId;
    }
  }
  set(R_PREFIX, pid);
  set(R_IN, inId);
  set(R_OUT, outId);
  pos = outEnd + 1;
  if (at(pos, L_MAC, 4)) {
    const m = spaceBits(pos);
    const macEnd = m != 0 ? pos + <i32>ctz(m) : space(pos + 64);
    if (macEnd >= lend) return -1;
    const mac = internT(F_MAC, pos + 4, macEnd);
    if (mac < 0) return -1;
    pos = macEnd + 1;
    set(R_MAC, mac);
  } else {
    set(R_MAC, -1);
  }
  set(R_INNER, 0);
  let p = packet(pos, rec + P_OUTER * 4, false);
  if (p < 0) return -1;
  set(R_HASUID, 0);
  set(R_HASMARK, 0);
  // the line's end (most often after one space): no UID=, no MARK=
  if (p == lend || (p + 1 == lend && b(p) == 32)) {
    pos = lend;
    return 1;
  }
  if (at(p, L_SP_UID, 5)) {
    const uid = numU32(p + 5);
    if (uid < 0) return -1;
    p = numEnd;
    if (!at(p, L_SP_GID, 5)) return -1;
    const gid = numU32(p + 5);
    if (gid < 0) return -1;
    p = numEnd;
    setU(R_UID, <u32>uid);
    setU(R_GID, <u32>gid);
    set(R_HASUID, 1);
  }
  if (at(p, L_SP_MARK, 8)) {
    p += 8;
    let v: u32 = 0;
    const s = p;
    while (p - s < 9) {
      const c = b(p);
      if (isDigit(c)) v = v * 16 + <u32>(c - 48);
      else if (c >= 97 && c <= 102) v = v * 16 + <u32>(c - 87);
      else break;
      p++;
    }
    if (p == s || p - s > 8) return -1;
    setU(R_MARK, v);
    set(R_HASMARK, 1);
  }
  // Nothing else: an optional single trailing space, then the end of the line.
  if (p < lend && b(p) == 32) p++;
  pos = p;
  if (p != lend) return -1;
  return 1;
}

/** The first byte `pat` (the byte repeated eight times) in [p, end), sixteen bytes at a time; end when none. */
@inline function findByte(p: i32, end: i32, pat: u64): i32 {
  const v = i8x16.splat(<i8>pat);
  while (p < end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(<usize>p), v));
    if (m != 0) {
      const r = p + <i32>ctz(m);
      return r < end ? r : end;
    }
    p += 16;
  }
  return end;
}

/** The next ' ' at or after p, sixteen bytes at a time; lend or more when there is none before lend. */
@inline function space(p: i32): i32 {
  const v = i8x16.splat(32);
  while (p < lend) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(<usize>p), v));
    if (m != 0) return p + <i32>ctz(m);
    p += 16;
  }
  return lend;
}

// The line ends of the 64-byte block at nlBase (bit i: a '\n' at nlBase + i) that newline() looked at last: a line
// shorter than the rest of the block finds its end there, without another load.
let nlBase: i32 = 0;
let nlBits: u64 = 0;

/** The '\n' bits of the 64 bytes at p. */
@inline function newlineBits(p: i32): u64 {
  const v = i8x16.splat(10);
  const m0 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p), v));
  const m1 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 16), v));
  const m2 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 32), v));
  const m3 = <u64>i8x16.bitmask(i8x16.eq(v128.load(<usize>p, 48), v));
  return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

/**
 * The next '\n' at or after p (the input always ends with one), 64 bytes at a time: four compares, one branch. p is
 * at or after the last block's start (scan() goes forwards, and starts each call with nlBase far behind).
 */
@inline function newline(p: i32): i32 {
  const d = p - nlBase;
  if (d < 64) {
    const m = nlBits & (<u64>-1 << <u64>d);
    if (m != 0) return nlBase + <i32>ctz(m);
    p = nlBase + 64;
  }
  for (;;) {
    const m = newlineBits(p);
    if (m != 0) {
      nlBase = p;
      nlBits = m;
      return p + <i32>ctz(m);
    }
    p += 64;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// NDJSON straight from the records, for `fwdiag parse`: the bytes src/output/ndjson.ts writes for the event
// JavaScript builds from the same record (test/parse/wasm-emit.test.ts holds the two equal). A record this cannot
// print exactly (a string that needs escaping, a date outside 0000-9999, …) stops emit(), and JavaScript builds and
// prints that event itself. Numbers only JavaScript prints right (a timestamp with a fraction of a millisecond) are
// asked of JavaScript through `env.num`; RFC3164 minutes (year inference, zones) through `env.syslogMinute`.

@external("env", "syslogMinute") declare function jsSyslogMinute(mo: i32, d: i32, h: i32, mi: i32): f64;
@external("env", "num") declare function jsNum(x: f64, at: i32): i32;

let litUsed: i32 = 0;
/** Writes the literal of constant k (see the K_ list) into the literal area: it must come next and be as long. */
function litAt(k: i32, s: string): void {
  if (k != ((litUsed << 8) | s.length)) unreachable();
  lit(s);
}

/** Copies an ASCII literal into the literal area once; returns (offset << 8) | length. */
function lit(s: string): i32 {
  const n = s.length;
  // the area's last 64 bytes are the ISO head scratch (HEAD_AT): more literals than fit trap at instantiation
  if (litUsed + n > LIT_CAP - 64) unreachable();
  const at = LIT_BASE + litUsed;
  for (let i = 0; i < n; i++) store<u8>(<usize>(at + i), <u8>s.charCodeAt(i));
  litUsed += n;
  return (litUsed - n) << 8 | n;
}

// emit()'s keys and fixed values as (offset << 8) | length in the literal area: constants, so that each copy's
// source and length are known when compiled. The bytes are written there at start, in this order, by litAt(),
// which traps when a literal is not where its constant says (so a change here that forgets an offset fails
// at once, in every test).
const K_LINE: i32 = (0 << 8) | 8; // {"line":
const K_TIME: i32 = (8 << 8) | 9; // ,"time":"
const K_TIME_NULL: i32 = (17 << 8) | 22; // ,"time":null,"ts":null
const K_TS: i32 = (39 << 8) | 8; // Z","ts":
const K_DOT: i32 = (47 << 8) | 1; // .
const K_MONO: i32 = (48 << 8) | 8; // ,"mono":
const K_MONO_NULL: i32 = (56 << 8) | 12; // ,"mono":null
const K_HOST: i32 = (68 << 8) | 8; // ,"host":
const K_TR_KERNEL: i32 = (76 << 8) | 21; // ,"transport":"kernel"
const K_TR_SYSLOG: i32 = (97 << 8) | 21; // ,"transport":"syslog"
const K_PREFIX: i32 = (118 << 8) | 10; // ,"prefix":
const K_IN: i32 = (128 << 8) | 6; // ,"in":
const K_OUT: i32 = (134 << 8) | 7; // ,"out":
const K_MAC: i32 = (141 << 8) | 7; // ,"mac":
const K_MACSRC: i32 = (148 << 8) | 11; // ,"macsrc":"
const K_MACDST: i32 = (159 << 8) | 12; // ","macdst":"
const K_MACPROTO: i32 = (171 << 8) | 14; // ","macproto":"
const K_FAMILY4: i32 = (185 << 8) | 11; // ,"family":4
const K_FAMILY6: i32 = (196 << 8) | 11; // ,"family":6
const K_SRC: i32 = (207 << 8) | 7; // ,"src":
const K_SRC_FIRST: i32 = (214 << 8) | 7; // {"src":
const K_DST: i32 = (221 << 8) | 7; // ,"dst":
const K_SRCSHORT: i32 = (228 << 8) | 13; // ,"srcShort":"
const K_DSTSHORT: i32 = (241 << 8) | 14; // ","dstShort":"
const K_LEN: i32 = (255 << 8) | 7; // ,"len":
const K_TOS: i32 = (262 << 8) | 7; // ,"tos":
const K_PREC: i32 = (269 << 8) | 8; // ,"prec":
const K_TTL: i32 = (277 << 8) | 7; // ,"ttl":
const K_ID: i32 = (284 << 8) | 6; // ,"id":
const K_IPFLAGS: i32 = (290 << 8) | 12; // ,"ipFlags":[
const K_TC: i32 = (302 << 8) | 6; // ,"tc":
const K_HOPLIMIT: i32 = (308 << 8) | 12; // ,"hoplimit":
const K_FLOWLBL: i32 = (320 << 8) | 11; // ,"flowlbl":
const K_PROTO_TCP: i32 = (331 << 8) | 14; // ,"proto":"TCP"
const K_PROTO_UDP: i32 = (345 << 8) | 14; // ,"proto":"UDP"
const K_PROTO_ICMP: i32 = (359 << 8) | 15; // ,"proto":"ICMP"
const K_PROTO_ICMPV6: i32 = (374 << 8) | 17; // ,"proto":"ICMPv6"
const K_SPT: i32 = (391 << 8) | 7; // ,"spt":
const K_DPT: i32 = (398 << 8) | 7; // ,"dpt":
const K_SEQ: i32 = (405 << 8) | 7; // ,"seq":
const K_ACK: i32 = (412 << 8) | 7; // ,"ack":
const K_WINDOW: i32 = (419 << 8) | 10; // ,"window":
const K_RES: i32 = (429 << 8) | 7; // ,"res":
const K_FLAGS: i32 = (436 << 8) | 10; // ,"flags":[
const K_URGP: i32 = (446 << 8) | 8; // ,"urgp":
const K_UDPLEN: i32 = (454 << 8) | 10; // ,"udpLen":
const K_ICMP: i32 = (464 << 8) | 16; // ,"icmp":{"type":
const K_CODE: i32 = (480 << 8) | 8; // ,"code":
const K_INNER: i32 = (488 << 8) | 9; // ,"inner":
const K_UID: i32 = (497 << 8) | 7; // ,"uid":
const K_GID: i32 = (504 << 8) | 7; // ,"gid":
const K_MARK: i32 = (511 << 8) | 8; // ,"mark":
const K_END: i32 = (519 << 8) | 2; // }\n
litAt(K_LINE, '{"line":');
litAt(K_TIME, ',"time":"');
litAt(K_TIME_NULL, ',"time":null,"ts":null');
litAt(K_TS, 'Z","ts":');
litAt(K_DOT, '.');
litAt(K_MONO, ',"mono":');
litAt(K_MONO_NULL, ',"mono":null');
litAt(K_HOST, ',"host":');
litAt(K_TR_KERNEL, ',"transport":"kernel"');
litAt(K_TR_SYSLOG, ',"transport":"syslog"');
litAt(K_PREFIX, ',"prefix":');
litAt(K_IN, ',"in":');
litAt(K_OUT, ',"out":');
litAt(K_MAC, ',"mac":');
litAt(K_MACSRC, ',"macsrc":"');
litAt(K_MACDST, '","macdst":"');
litAt(K_MACPROTO, '","macproto":"');
litAt(K_FAMILY4, ',"family":4');
litAt(K_FAMILY6, ',"family":6');
litAt(K_SRC, ',"src":');
litAt(K_SRC_FIRST, '{"src":');
litAt(K_DST, ',"dst":');
litAt(K_SRCSHORT, ',"srcShort":"');
litAt(K_DSTSHORT, '","dstShort":"');
litAt(K_LEN, ',"len":');
litAt(K_TOS, ',"tos":');
litAt(K_PREC, ',"prec":');
litAt(K_TTL, ',"ttl":');
litAt(K_ID, ',"id":');
litAt(K_IPFLAGS, ',"ipFlags":[');
litAt(K_TC, ',"tc":');
litAt(K_HOPLIMIT, ',"hoplimit":');
litAt(K_FLOWLBL, ',"flowlbl":');
litAt(K_PROTO_TCP, ',"proto":"TCP"');
litAt(K_PROTO_UDP, ',"proto":"UDP"');
litAt(K_PROTO_ICMP, ',"proto":"ICMP"');
litAt(K_PROTO_ICMPV6, ',"proto":"ICMPv6"');
litAt(K_SPT, ',"spt":');
litAt(K_DPT, ',"dpt":');
litAt(K_SEQ, ',"seq":');
litAt(K_ACK, ',"ack":');
litAt(K_WINDOW, ',"window":');
litAt(K_RES, ',"res":');
litAt(K_FLAGS, ',"flags":[');
litAt(K_URGP, ',"urgp":');
litAt(K_UDPLEN, ',"udpLen":');
litAt(K_ICMP, ',"icmp":{"type":');
litAt(K_CODE, ',"code":');
litAt(K_INNER, ',"inner":');
litAt(K_UID, ',"uid":');
litAt(K_GID, ',"gid":');
litAt(K_MARK, ',"mark":');
litAt(K_END, '}\n');
const V_NULL = lit('null');
// ENV_* codes 1..10, in order.
const V_ENVS: StaticArray<i32> = [
  0,
  lit(',"envelope":"rfc3164"'),
  lit(',"envelope":"rfc3339"'),
  lit(',"envelope":"rfc5424"'),
  lit(',"envelope":"journal-short-monotonic"'),
  lit(',"envelope":"dmesg"'),
  lit(',"envelope":"kmsg"'),
  lit(',"envelope":"talos"'),
  lit(',"envelope":"bare"'),
  lit(',"envelope":"journal-json"'),
  lit(',"envelope":"journal-short-unix"'),
];
// Flag words by bit, as the records number them (P_TCPFLAGS, P_IPFLAGS).
const V_TCP_FLAGS: StaticArray<i32> = [lit('"AE"'), lit('"CWR"'), lit('"ECE"'), lit('"URG"'), lit('"ACK"'), lit('"PSH"'), lit('"RST"'), lit('"SYN"'), lit('"FIN"')];
const V_IP_FLAGS: StaticArray<i32> = [lit('"CE"'), lit('"DF"'), lit('"MF"')];
/** scratch: the ISO heads of the last two seconds printed (19 bytes each, at HEAD_AT and HEAD_AT + 32) */
const HEAD_AT: i32 = LIT_BASE + LIT_CAP - 64;

/** Where emit() stopped writing (its output is OUT_BASE..outEnd). */
let op: i32 = 0;
/** Length of the `,"file":…` fragment in FILE_BASE; 0 for none. */
let fileLen: i32 = 0;
let emitted: i32 = 0;
let skipped: i32 = 0;

// The writers below take the output position and return the new one: a local stays in a register, where a global
// cursor would be loaded and stored around every byte.

/**
 * n bytes from src to dst in 16-byte moves, up to 48 without a loop (keys, strings and MAC headers are that short;
 * a loop costs an interrupt check per turn; a key's n is a constant, so its branches go at compile time). Up to 15
 * bytes more are read and written: both areas have slack after them, and what is written past n is written over
 * next.
 */
@inline function copy(dst: i32, src: i32, n: i32): void {
  v128.store(<usize>dst, v128.load(<usize>src));
  if (n > 16) {
    v128.store(<usize>dst, v128.load(<usize>src, 16), 16);
    if (n > 32) {
      v128.store(<usize>dst, v128.load(<usize>src, 32), 32);
      for (let i = 48; i < n; i += 16) v128.store(<usize>(dst + i), v128.load(<usize>(src + i)));
    }
  }
}
@inline function putLit(p: i32, l: i32): i32 {
  const n = l & 255;
  copy(p, LIT_BASE + (l >> 8), n);
  return p + n;
}
@inline function putC(p: i32, c: i32): i32 {
  store<u8>(<usize>p, <u8>c);
  return p + 1;
}
@inline function get(slot: i32): i32 {
  return load<i32>(<usize>(rec + slot * 4));
}
@inline function getAt(o: i32, slot: i32): i32 {
  return load<i32>(<usize>(o + slot * 4));
}

/** "00".."99" as little-endian u16 pairs. */
const PAIRS = new StaticArray<u16>(100);
for (let i = 0; i < 100; i++) unchecked((PAIRS[i] = <u16>((48 + i / 10) | ((48 + (i % 10)) << 8))));

/**
 * The eight decimal digits of v < 10^8, zero-padded, as eight ASCII bytes (the first digit lowest): four-digit halves
 * in two 32-bit lanes, then two-digit quarters in four 16-bit lanes, then digits in eight bytes, each step one
 * multiply-shift by a reciprocal (exact for these ranges). Printing a number is one 8-byte store of the right digits:
 * no branch per digit, no loop.
 */
@inline function digits8(v: u32): u64 {
  const hi = v / 10000;
  const x = <u64>hi | (<u64>(v - hi * 10000) << 32);
  const y = ((x * 5243) >> 19) & 0x0000007f0000007f; // / 100
  const z = y | ((x - y * 100) << 16);
  const t = ((z * 103) >> 10) & 0x000f000f000f000f; // / 10
  return (t | ((z - t * 10) << 8)) + 0x3030303030303030;
}

const POW10U: StaticArray<u32> = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** The number of decimal digits of v < 10^8 (1 for 0): from its bit length (log10 2 ≈ 1233 / 4096), one look-up. */
@inline function digitCount8(v: u32): i32 {
  const t = ((32 - <i32>clz(v | 1)) * 1233) >> 12;
  return t + 1 - <i32>((v | 1) < unchecked(POW10U[t]));
}

/** v as decimal digits at p → the end. Inline for the usual v < 10^8; longer ones in putU32Long(). */
@inline function putU32(p: i32, v: u32): i32 {
  if (v >= 100000000) return putU32Long(p, v);
  // the digits without the leading zeros: the word shifted down by them (the bytes stored after the number are
  // written over next; the output area has slack)
  const n = digitCount8(v);
  store<u64>(<usize>p, digits8(v) >> (<u64>(8 - n) << 3));
  return p + n;
}
function putU32Long(p: i32, v: u32): i32 {
  const hi = v / 100000000;
  if (hi < 10) {
    store<u8>(<usize>p, <u8>(48 + hi));
    p += 1;
  } else {
    store<u16>(<usize>p, unchecked(PAIRS[hi]));
    p += 2;
  }
  store<u64>(<usize>p, digits8(v - hi * 100000000));
  return p + 8;
}
function putU64(p: i32, v: u64): i32 {
  if (v <= 0xffffffff) return putU32(p, <u32>v);
  const hi = v / 100000000;
  if (hi <= 0xffffffff) {
    // epoch milliseconds and the like: the head, then eight digits
    p = putU32(p, <u32>hi);
    store<u64>(<usize>p, digits8(<u32>(v - hi * 100000000)));
    return p + 8;
  }
  let n = 10;
  let t = v / 10000000000;
  while (t != 0) {
    n++;
    t /= 10;
  }
  let q = p + n;
  do {
    q--;
    store<u8>(<usize>q, <u8>(48 + <i32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return p + n;
}
/** Exactly n digits of v (1 ≤ n ≤ 9), zero-padded (the last n digits when v has more). */
function putPad(p: i32, v: u32, n: i32): i32 {
  if (n <= 8) {
    store<u64>(<usize>p, digits8(v % 100000000) >> (<u64>(8 - n) << 3));
    return p + n;
  }
  const hi = (v / 100000000) % 10;
  store<u8>(<usize>p, <u8>(48 + hi));
  store<u64>(<usize>(p + 1), digits8(v % 100000000));
  return p + 9;
}

/** An interned string as a JSON string; -1 when it needs escaping. */
@inline function putStr(p: i32, id: i32): i32 {
  if (load<u8>(<usize>(ESC_BASE + id)) != 0) return -1;
  const ip = IDS_BASE + id * 8;
  const n = load<i32>(<usize>(ip + 4));
  store<u8>(<usize>p, 34);
  copy(p + 1, ARENA_BASE + load<i32>(<usize>ip), n);
  store<u8>(<usize>(p + n + 1), 34);
  return p + n + 2;
}

/** The value of the lowercase hex digit c. */
@inline function hexVal(c: i32): i32 {
  return c <= 57 ? c - 48 : c - 87;
}

/** The byte spelled by the two lowercase hex digits at q, in decimal. */
@inline function putOctet(p: i32, q: i32): i32 {
  return putU32(p, <u32>(hexVal(b(q)) * 16 + hexVal(b(q + 1))));
}

/** compressIpv6() of ipv6.ts for a full-form address the scanner read (eight groups of four lowercase hex). */
function putV6Short(p: i32, id: i32): i32 {
  const a = ARENA_BASE + load<i32>(<usize>(IDS_BASE + id * 8));
  // IPv4-mapped (::ffff:0:0/96): `::ffff:` and the IPv4 address dotted (RFC 5952 §5)
  if (w32(a + 25) == 0x66666666 && w32(a) == 0x30303030 && w32(a + 5) == 0x30303030 && w32(a + 10) == 0x30303030 &&
    w32(a + 15) == 0x30303030 && w32(a + 20) == 0x30303030) {
    p = putC(putC(p, 58), 58);
    for (let i = 0; i < 4; i++) p = putC(p, 102);
    p = putOctet(putC(p, 58), a + 30);
    p = putOctet(putC(p, 46), a + 32);
    p = putOctet(putC(p, 46), a + 35);
    return putOctet(putC(p, 46), a + 37);
  }
  // Longest run of at least two zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  let g = 0;
  while (g < 8) {
    if (w32(a + g * 5) != 0x30303030) {
      g++;
      continue;
    }
    let j = g;
    while (j < 8 && w32(a + j * 5) == 0x30303030) j++;
    if (j - g > bestLen) {
      best = g;
      bestLen = j - g;
    }
    g = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i == best) {
      p = putC(p, 58);
      p = putC(p, 58);
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i != best + bestLen) p = putC(p, 58);
    const q = a + i * 5;
    let k = 0;
    while (k < 3 && b(q + k) == 48) k++;
    for (; k < 4; k++) p = putC(p, b(q + k));
  }
  return p;
}

/** Flag words of `bits` as a JSON array body and ']' (the key and '[' are written by the caller). */
function putWords(p: i32, bits: i32, words: StaticArray<i32>): i32 {
  // only the bits set, lowest first (a turn for each word printed, not for each word there is)
  bits &= (1 << words.length) - 1;
  if (bits != 0) {
    p = putLit(p, unchecked(words[ctz(bits)]));
    bits &= bits - 1;
    while (bits != 0) {
      p = putLit(putC(p, 44), unchecked(words[ctz(bits)]));
      bits &= bits - 1;
    }
  }
  return putC(p, 93);
}

// The RFC3164 minute JavaScript gave last (its clock's own cache is one minute too); -1: ask again.
let minKey: i32 = -1;
let minMs: f64 = 0;
/** The parser (and so its clock) changed: forget the cached minute. */
export function clockChanged(): void {
  minKey = -1;
}

// The seconds whose heads are at HEAD_AT and HEAD_AT + 32, and the slot a new second takes. Two, not one: lines of
// hosts whose clocks differ by a second, or of sources dated differently, interleave in merged logs.
let headSec: f64 = NaN;
let headSec2: f64 = NaN;
let headNext: i32 = 0;

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil); m 1-12. */
function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  if (m <= 2) y -= 1;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = (153 * mp + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/** `YYYY-MM-DDTHH:MM:SS` of an epoch second at `at` (new Date(sec * 1000).toISOString().slice(0, 19)). */
function makeHead(sec: i64, at: i32): void {
  let days = sec / 86400;
  let sod = sec - days * 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  let p = putPad(at, <u32>y, 4);
  p = putC(p, 45);
  p = putPad(p, <u32>m, 2);
  p = putC(p, 45);
  p = putPad(p, <u32>d, 2);
  p = putC(p, 84);
  p = putPad(p, <u32>(sod / 3600), 2);
  p = putC(p, 58);
  p = putPad(p, <u32>((sod / 60) % 60), 2);
  p = putC(p, 58);
  putPad(p, <u32>(sod % 60), 2);
}

const POW10F: StaticArray<f64> = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
const TWO53: f64 = 9007199254740992;

/** A number as JavaScript prints it: integers here, the rest by JavaScript. */
function putNum(p: i32, x: f64): i32 {
  if (x == Math.floor(x) && Math.abs(x) < TWO53) {
    if (x < 0) return putU64(putC(p, 45), <u64>(-x));
    return putU64(p, <u64>x);
  }
  return p + jsNum(x, p);
}

/** `,"time":…,"ts":…` as Scanner.timeOf() + IsoFormatter.format() make them; -1: leave it to JavaScript. */
function putTime(p: i32): i32 {
  const kind = get(R_TKIND);
  const fn = get(R_FRACN);
  const fracV = get(R_FRACV);
  let fracMs: f64 = 0;
  if (fn > 0) fracMs = (<f64>fracV * 1000) / unchecked(POW10F[fn]);
  let ms: f64;
  // The digits after the second as the event's time shows them (fracN of fracOut), none when fracN is 0.
  let fracOut: u32 = 0;
  let fracN = 0;
  if (kind == 1) {
    const mo = get(R_MO);
    const d = get(R_D);
    const h = get(R_H);
    const mi = get(R_MI);
    const key = ((mo * 32 + d) * 24 + h) * 60 + mi;
    if (key != minKey) {
      minMs = jsSyslogMinute(mo, d, h, mi);
      minKey = key;
    }
    ms = minMs + <f64>get(R_S) * 1000 + fracMs;
    fracOut = fracV;
    fracN = fn;
  } else if (kind == 2) {
    const y = get(R_Y);
    if (y < 100) return -1; // Date.UTC reads years 0-99 as 1900-1999: JavaScript
    const day = daysFromCivil(y, get(R_MO) + 1, 1) + <i64>get(R_D) - 1;
    const isoMs = <f64>(day * 86400000 + <i64>get(R_H) * 3600000 + <i64>get(R_MI) * 60000);
    ms = isoMs + <f64>get(R_S) * 1000 - <f64>get(R_OFF) * 60000 + fracMs;
    if (fn > 0) {
      if (fn > 6 && get(R_ENV) == ENV_TALOS) {
        fracOut = <u32>(fracV / <i32>unchecked(POW10F[fn - 6]));
        fracN = 6;
      } else {
        fracOut = fracV;
        fracN = fn;
      }
    }
  } else if (kind == 3) {
    const us = load<f64>(<usize>(rec + R_USEC * 4));
    ms = us / 1000;
    fracOut = <u32>(us % 1000000);
    fracN = 6;
  } else if (kind == 4) {
    ms = load<f64>(<usize>(rec + R_USEC * 4)) * 1000 + fracMs;
    fracOut = fracV;
    fracN = fn;
  } else {
    return putLit(p, K_TIME_NULL);
  }
  if (isNaN(ms)) return putLit(p, K_TIME_NULL);
  const secF = Math.floor(ms / 1000);
  // toISOString() prints years 0000-9999 with four digits: others go to JavaScript.
  if (secF < -62167219200 || secF >= 253402300800) return -1;
  if (fracN == 0 && ms - secF * 1000 != 0) return -1;
  let head = HEAD_AT;
  if (secF == headSec) {
    // slot 0
  } else if (secF == headSec2) {
    head = HEAD_AT + 32;
  } else if (headNext == 0) {
    makeHead(<i64>secF, HEAD_AT);
    headSec = secF;
    headNext = 1;
  } else {
    head = HEAD_AT + 32;
    makeHead(<i64>secF, head);
    headSec2 = secF;
    headNext = 0;
  }
  p = putLit(p, K_TIME);
  copy(p, head, 19);
  p += 19;
  if (fracN > 0) p = putPad(putC(p, 46), fracOut, fracN);
  p = putLit(p, K_TS);
  return putNum(p, ms);
}

/** `,"mono":…`: the stamp's own digits when they are what JavaScript prints for the number, else JavaScript. */
@inline function putMono(p: i32): i32 {
  if (get(R_HASMONO) == 0) return putLit(p, K_MONO_NULL);
  p = putLit(p, K_MONO);
  const m = load<f64>(<usize>(rec + R_MONO * 4));
  const k = get(R_MONO_K);
  if (k > 0 && m >= 1e-6) {
    const n = load<i64>(<usize>(rec + R_MONO_N * 4));
    // Fewer than 16 digits, and m is the double nearest to N / 10^k (one exact division): then the shortest
    // decimal that reads back as m, which JavaScript prints, is that one with trailing zeros dropped.
    if (<f64>n / unchecked(POW10F[k]) == m) {
      const pk = <i64>unchecked(POW10F[k]);
      // the integer part is floor(m) (checked: a division by a variable costs more than this)
      let q = <i64>Math.floor(m);
      if (q * pk > n || n - q * pk >= pk) q = n / pk;
      p = putU64(p, <u64>q);
      const f = n - q * pk;
      if (f != 0) {
        // k digits (f < 10^k ≤ 10^8), the first lowest, less the trailing zeros: the zero bytes at the top
        const w = digits8(<u32>f) >> (<u64>(8 - k) << 3);
        const zeros = <i32>(clz(((w ^ 0x3030303030303030) << (<u64>(8 - k) << 3))) >> 3);
        store<u8>(<usize>p, 46);
        store<u64>(<usize>(p + 1), w);
        p += 1 + k - zeros;
      }
      return p;
    }
  }
  return putNum(p, m);
}

/** The IP header's fields of the packet slots at `o`, from "len" (after the addresses and shorts). */
@inline function putIpFields(p: i32, o: i32, fam: i32): i32 {
  p = putU32(putLit(p, K_LEN), <u32>getAt(o, P_LEN));
  if (fam == 4) {
    p = putU32(putLit(p, K_TOS), <u32>getAt(o, P_TOS));
    p = putU32(putLit(p, K_PREC), <u32>getAt(o, P_PREC));
    p = putU32(putLit(p, K_TTL), <u32>getAt(o, P_TTL));
    p = putU32(putLit(p, K_ID), <u32>getAt(o, P_ID));
    const fl = getAt(o, P_IPFLAGS);
    if (fl != 0) p = putWords(putLit(p, K_IPFLAGS), fl, V_IP_FLAGS);
  } else {
    p = putU32(putLit(p, K_TC), <u32>getAt(o, P_TC));
    p = putU32(putLit(p, K_HOPLIMIT), <u32>getAt(o, P_HOP));
    p = putU32(putLit(p, K_FLOWLBL), <u32>getAt(o, P_FLOWLBL));
  }
  return p;
}

/** `"type":…,"code":…[,"id":…,"seq":…]` of the ICMP slots at `o` (after `{"type":`). */
@inline function putIcmpHead(p: i32, o: i32): i32 {
  p = putU32(p, <u32>getAt(o, P_ITYPE));
  p = putU32(putLit(p, K_CODE), <u32>getAt(o, P_ICODE));
  if (getAt(o, P_HASIDSEQ) != 0) {
    p = putU32(putLit(p, K_ID), <u32>getAt(o, P_IID));
    p = putU32(putLit(p, K_SEQ), <u32>getAt(o, P_ISEQ));
  }
  return p;
}

/** `,"spt":…,"dpt":…` */
@inline function putPorts(p: i32, o: i32): i32 {
  p = putU32(putLit(p, K_SPT), <u32>getAt(o, P_SPT));
  return putU32(putLit(p, K_DPT), <u32>getAt(o, P_DPT));
}
/** `,"seq":…,"ack":…` when the line has them */
@inline function putSeqAck(p: i32, o: i32): i32 {
  if (getAt(o, P_HASSEQ) == 0) return p;
  p = putU32(putLit(p, K_SEQ), load<u32>(<usize>(o + P_SEQ * 4)));
  return putU32(putLit(p, K_ACK), load<u32>(<usize>(o + P_ACK * 4)));
}

/** `,"proto":"TCP"`, ports, seq/ack when present, window and res: what the outer and the quoted packet share. */
@inline function putTcpHead(p: i32, o: i32): i32 {
  p = putSeqAck(putPorts(putLit(p, K_PROTO_TCP), o), o);
  p = putU32(putLit(p, K_WINDOW), <u32>getAt(o, P_WINDOW));
  return putU32(putLit(p, K_RES), <u32>getAt(o, P_RES));
}

/** The quoted packet of an ICMP error as Scanner.inner() builds it (keys in token order); -1: JavaScript. */
function putInner(p: i32, o: i32): i32 {
  const fam = getAt(o, P_FAMILY);
  const src = getAt(o, P_SRC);
  const dst = getAt(o, P_DST);
  p = putStr(putLit(p, K_SRC_FIRST), src);
  if (p < 0) return -1;
  p = putStr(putLit(p, K_DST), dst);
  if (p < 0) return -1;
  p = putIpFields(p, o, fam);
  const proto = getAt(o, P_PROTO);
  if (proto == 1) {
    // a quoted packet's keys come in token order: urgp before flags
    p = putU32(putLit(putTcpHead(p, o), K_URGP), <u32>getAt(o, P_URGP));
    p = putWords(putLit(p, K_FLAGS), getAt(o, P_TCPFLAGS), V_TCP_FLAGS);
  } else if (proto == 2) {
    p = putPorts(putLit(p, K_PROTO_UDP), o);
    p = putU32(putLit(p, K_UDPLEN), <u32>getAt(o, P_UDPLEN));
  } else {
    p = putIcmpHead(putLit(putLit(p, proto == 3 ? K_PROTO_ICMP : K_PROTO_ICMPV6), K_ICMP), o);
    p = putC(p, 125);
  }
  if (fam == 6) {
    p = putV6Short(putLit(p, K_SRCSHORT), src);
    p = putV6Short(putLit(p, K_DSTSHORT), dst);
    p = putC(p, 34);
  }
  return putC(p, 125);
}

/** One event line for the record at `rec` from p; -1 when JavaScript must print it. */
function record(p: i32, line: f64): i32 {
  p = putU64(putLit(p, K_LINE), <u64>line);
  if (fileLen > 0) {
    copy(p, FILE_BASE, fileLen);
    p += fileLen;
  }
  p = putTime(p);
  if (p < 0) return -1;
  p = putLit(putMono(p), K_HOST);
  const host = get(R_HOST);
  if (host < 0) {
    p = putLit(p, V_NULL);
  } else {
    p = putStr(p, host);
    if (p < 0) return -1;
  }
  p = putLit(p, unchecked(V_ENVS[get(R_ENV)]));
  const tr = get(R_TRANSPORT);
  if (tr == 1) p = putLit(p, K_TR_KERNEL);
  else if (tr == 2) p = putLit(p, K_TR_SYSLOG);
  p = putStr(putLit(p, K_PREFIX), get(R_PREFIX));
  if (p < 0) return -1;
  p = putStr(putLit(p, K_IN), get(R_IN));
  if (p < 0) return -1;
  p = putStr(putLit(p, K_OUT), get(R_OUT));
  if (p < 0) return -1;
  const mac = get(R_MAC);
  if (mac >= 0) {
    p = putStr(putLit(p, K_MAC), mac);
    if (p < 0) return -1;
    const ip = IDS_BASE + mac * 8;
    if (load<i32>(<usize>(ip + 4)) == 41) {
      // An Ethernet header: dst(6) src(6) type(2).
      const a = ARENA_BASE + load<i32>(<usize>ip);
      p = putLit(p, K_MACSRC);
      copy(p, a + 18, 17);
      p = putLit(p + 17, K_MACDST);
      copy(p, a, 17);
      p = putLit(p + 17, K_MACPROTO);
      store<u16>(<usize>p, load<u16>(<usize>(a + 36)));
      store<u16>(<usize>(p + 2), load<u16>(<usize>(a + 39)));
      p = putC(p + 4, 34);
    }
  }
  const o = rec + P_OUTER * 4;
  const fam = getAt(o, P_FAMILY);
  const src = getAt(o, P_SRC);
  const dst = getAt(o, P_DST);
  p = putStr(putLit(putLit(p, fam == 4 ? K_FAMILY4 : K_FAMILY6), K_SRC), src);
  if (p < 0) return -1;
  p = putStr(putLit(p, K_DST), dst);
  if (p < 0) return -1;
  if (fam == 6) {
    p = putV6Short(putLit(p, K_SRCSHORT), src);
    p = putV6Short(putLit(p, K_DSTSHORT), dst);
    p = putC(p, 34);
  }
  p = putIpFields(p, o, fam);
  const proto = getAt(o, P_PROTO);
  if (proto == 1) {
    // the event's keys come in contract order: flags before urgp
    p = putWords(putLit(putTcpHead(p, o), K_FLAGS), getAt(o, P_TCPFLAGS), V_TCP_FLAGS);
    p = putU32(putLit(p, K_URGP), <u32>getAt(o, P_URGP));
  } else if (proto == 2) {
    p = putPorts(putLit(p, K_PROTO_UDP), o);
    p = putU32(putLit(p, K_UDPLEN), <u32>getAt(o, P_UDPLEN));
  } else {
    p = putIcmpHead(putLit(putLit(p, proto == 3 ? K_PROTO_ICMP : K_PROTO_ICMPV6), K_ICMP), o);
    if (get(R_INNER) != 0 && getAt(o, P_HASIDSEQ) == 0) {
      p = putInner(putLit(p, K_INNER), rec + P_INNER * 4);
      if (p < 0) return -1;
    }
    p = putC(p, 125);
  }
  if (get(R_HASUID) != 0) {
    p = putU32(putLit(p, K_UID), <u32>get(R_UID));
    p = putU32(putLit(p, K_GID), <u32>get(R_GID));
  }
  if (get(R_HASMARK) != 0) p = putU32(putLit(p, K_MARK), <u32>get(R_MARK));
  return putLit(p, K_END);
}

/**
 * NDJSON for records from..n-1 of the last scan() (record `from` is input line `line`) into the output area, up to
 * the first record JavaScript must read or print (a fallback line, a record emit cannot print exactly, or a full
 * output area). Returns that record's index (n when all were done); outEnd(), emittedEvents() and skippedLines()
 * tell the rest.
 */
export function emit(from: i32, n: i32, line: f64): i32 {
  let p = OUT_BASE;
  let ev = 0;
  let sk = 0;
  let r = from;
  while (r < n) {
    rec = REC_BASE + r * REC_BYTES;
    const st = get(R_STATUS);
    if (st == 2) {
      sk++;
      r++;
      line++;
      continue;
    }
    if (st != 1) break;
    // Every string is a piece of the line (the MAC twice), so this bounds the record's bytes.
    if (p + 2 * (get(R_END) - get(R_START)) + fileLen + 2048 > OUT_BASE + OUT_CAP) break;
    const q = record(p, line);
    if (q < 0) break;
    p = q;
    ev++;
    r++;
    line++;
  }
  op = p;
  emitted = ev;
  skipped = sk;
  return r;
}

export function outBase(): i32 {
  return OUT_BASE;
}
export function outEnd(): i32 {
  return op;
}
export function emittedEvents(): i32 {
  return emitted;
}
export function skippedLines(): i32 {
  return skipped;
}
export function fileBase(): i32 {
  return FILE_BASE;
}
export function fileCap(): i32 {
  return FILE_CAP;
}
/** The `,"file":"…"` fragment now in FILE_BASE (JSON, written by JavaScript), 0 for none. */
export function setFile(n: i32): void {
  fileLen = n;
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points.

/** Where the last scan() stopped (byte offset from IN_BASE): the next line to read. */
let stopAt: i32 = 0;

/**
 * Reads lines from IN_BASE+from up to IN_BASE+end (end is just past a '\n'), at most MAX_RECS of them, writing one
 * record each. Returns the number of records; stoppedAt() tells where to continue; isFull() asks for reset().
 */
export function scan(from: i32, end: i32): i32 {
  newCount = 0;
  let n = 0;
  let p = IN_BASE + from;
  nlBase = p - 64;
  nlBits = 0;
  const stop = IN_BASE + end;
  while (p < stop && n < MAX_RECS) {
    const nl = newline(p);
    lineStart = p;
    lend = nl;
    if (lend > p && b(lend - 1) == 13) lend--;
    rec = REC_BASE + n * REC_BYTES;
    set(R_START, p - IN_BASE);
    set(R_END, lend - IN_BASE);
    set(R_HOST, -1);
    set(R_TKIND, 0);
    set(R_FRACN, 0);
    set(R_HASMONO, 0);
    set(R_TRANSPORT, 0);
    let st = 0;
    const e = envelope();
    if (e == 1) {
      // The kernel's own `[sec.usec] ` stamp relayed at the start of the message (kernelStampAt()).
      if (b(pos) == 91) {
        let close = pos;
        close = findByte(close, lend, 0x5d5d5d5d5d5d5d5d);
        if (close < lend && close - pos <= 20) {
          const mono = seconds(pos + 1, close);
          if (!isNaN(mono)) {
            if (load<i32>(<usize>(rec + R_HASMONO * 4)) == 0) setMono(mono, secN, secK);
            pos = b(close + 1) == 32 ? close + 2 : close + 1;
          } else {
            // Not a stamp seconds() reads. Digits, spaces and dots only (more digits than it takes, which
            // readSeconds() may still read): JavaScript decides. Anything else (`[DROP] `) is no stamp there either.
            let q = pos + 1;
            while (q < close && (isDigit(b(q)) || b(q) == 32 || b(q) == 46)) q++;
            if (q == close) pos = -1;
          }
        }
      }
      st = pos < 0 ? -1 : body();
    } else if (e == 0) {
      st = 2;
    } else {
      st = 0;
    }
    if (full) break; // this line is read again after reset()
    set(R_STATUS, st < 0 ? 0 : st);
    n++;
    p = nl + 1;
  }
  stopAt = p - IN_BASE;
  return n;
}

export function stoppedAt(): i32 {
  return stopAt;
}
export function isFull(): bool {
  return full;
}
export function newStrings(): i32 {
  return newCount;
}
export function inputBase(): i32 {
  return IN_BASE;
}
export function inputCap(): i32 {
  return IN_CAP;
}
export function recordBase(): i32 {
  return REC_BASE;
}
export function newBase(): i32 {
  return NEW_BASE;
}
export function layout(): i32 {
  return LAYOUT_VERSION * 100000 + REC_SLOTS * 100 + (MEM_END >> 20);
}
export function memoryEnd(): i32 {
  return MEM_END;
}
