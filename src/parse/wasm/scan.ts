// AssemblyScript, compiled to dist/parse/scan.wasm by `npm run build:wasm` (see asconfig.json). Not part of the
// TypeScript program (tsconfig excludes this folder).
//
// The hot path of the parser: reads runs of complete lines (each ending in '\n') straight from bytes and writes one
// fixed-size record of integers per line. A record says "event" only for layouts it reads completely and exactly as
// the general JavaScript parser would (src/parse/body.ts, envelope.ts); everything else — other envelopes, other
// fields, anything odd — is marked "fallback" and the JavaScript parser reads that line. Strings (host, prefix,
// devices, MAC header, addresses) are interned here: a record holds small integer ids, and each new id is listed
// once with its bytes so JavaScript makes the string once. The JavaScript side is src/parse/wasm-scan.ts; the record
// layout below is repeated there (LAYOUT_VERSION guards it).

// ---------------------------------------------------------------------------------------------------------------
// Memory layout (bytes). Fixed; the module never grows memory.
const IN_BASE: i32 = 65536;
const IN_CAP: i32 = 1 << 20;
const REC_BASE: i32 = IN_BASE + IN_CAP + 1024;
const REC_SLOTS: i32 = 96;
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
const MEM_END: i32 = ARENA_BASE + ARENA_CAP + 1024;

const LAYOUT_VERSION: i32 = 3;

// Record slots (i32 index within a record).
const R_STATUS = 0; // 0 fallback, 1 event, 2 skip (not a kernel line)
const R_START = 1; // line start, byte offset from IN_BASE
const R_END = 2; // line end (before '\n' and a trailing '\r')
const R_ENV = 3; // envelope code, see ENV_*
const R_TRANSPORT = 4; // 0 none, 1 kernel, 2 syslog
const R_HOST = 5; // interned id or -1
const R_TKIND = 6; // 0 no wall clock, 1 RFC3164 (mo d h mi s), 2 ISO (y mo d h mi s off)
const R_Y = 7;
const R_MO = 8;
const R_D = 9;
const R_H = 10;
const R_MI = 11;
const R_S = 12;
const R_OFF = 13; // offset minutes
const R_FRACV = 14; // value of the fraction digits (at most 9)
const R_FRACN = 15; // number of fraction digits, 0 when none
const R_HASMONO = 16;
const R_MONO = 18; // f64 over slots 18-19
const R_PREFIX = 20;
const R_IN = 21;
const R_OUT = 22;
const R_MAC = 23; // id or -1
const R_UID = 24; // u32
const R_GID = 25; // u32
const R_HASUID = 26;
const R_MARK = 27; // u32
const R_HASMARK = 28;
const R_INNER = 29; // 1 when the ICMP error quotes a packet (fields at P_INNER)
const R_USEC = 30; // f64 over slots 30-31: journal __REALTIME_TIMESTAMP (µs), with R_TKIND 3
const P_OUTER = 32;
const P_INNER = 64;
// Packet slots (relative to P_OUTER / P_INNER).
const P_FAMILY = 0;
const P_SRC = 1;
const P_DST = 2;
const P_LEN = 3;
const P_TOS = 4;
const P_PREC = 5;
const P_TTL = 6;
const P_ID = 7;
const P_IPFLAGS = 8; // bits CE=1 DF=2 MF=4, printed in that order
const P_TC = 9;
const P_HOP = 10;
const P_FLOWLBL = 11;
const P_PROTO = 12; // 1 TCP, 2 UDP, 3 ICMP, 4 ICMPv6
const P_SPT = 13;
const P_DPT = 14;
const P_WINDOW = 15;
const P_RES = 16;
const P_TCPFLAGS = 17; // bit i = i-th of AE CWR ECE URG ACK PSH RST SYN FIN, printed in that order
const P_URGP = 18;
const P_UDPLEN = 19;
const P_ITYPE = 20;
const P_ICODE = 21;
const P_IID = 22;
const P_ISEQ = 23;
const P_HASIDSEQ = 24;
const P_SEQ = 25; // u32
const P_ACK = 26; // u32
const P_HASSEQ = 27;

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

/** Little-endian packing of an ASCII literal (at most 8 bytes), computed once at start. */
function pack(s: string): u64 {
  let v: u64 = 0;
  for (let i = s.length - 1; i >= 0; i--) v = (v << 8) | <u64>s.charCodeAt(i);
  return v;
}
@inline function mask(n: i32): u64 {
  return n >= 8 ? 0xffffffffffffffff : (<u64>1 << (<u64>n * 8)) - 1;
}
/** Does `lit` (n bytes, packed) start at p? */
@inline function at(p: i32, lit: u64, n: i32): bool {
  return (w64(p) & mask(n)) == lit;
}

const L_SRC = pack('SRC=');
const L_SP_DST = pack(' DST=');
const L_SP_PROTO = pack(' PROTO=');
const L_SP_LEN = pack(' LEN=');
const L_SP_TOS_0X = pack(' TOS=0x');
const L_SP_PREC_0X = pack(' PREC=0x');
const L_SP_TTL = pack(' TTL=');
const L_SP_ID = pack(' ID=');
const L_PROTO = pack('PROTO=');
const L_TCP_SPT = pack('TCP SPT=');
const L_UDP_SPT = pack('UDP SPT=');
const L_ICMP_TY = pack('ICMP TYP');
const L_ICMPV6_T = pack('ICMPv6 T');
const L_YPE = pack('YPE=');
const L_SP_DPT = pack(' DPT=');
const L_SP_SEQ = pack(' SEQ=');
const L_SP_ACK = pack(' ACK=');
const L_SP_WINDOW = pack(' WINDOW=');
const L_SP_RES_0X = pack(' RES=0x');
const L_URGP = pack('URGP=');
const L_SP_CODE = pack(' CODE=');
const L_SP_UID = pack(' UID=');
const L_SP_GID = pack(' GID=');
const L_SP_MARK = pack(' MARK=0x');
const L_SP_TC = pack(' TC=');
const L_SP_HOPLIMI = pack(' HOPLIMI');
const L_T_EQ = pack('T=');
const L_SP_FLOWLBL = pack(' FLOWLBL');
const L_EQ = pack('=');
const L_IN = pack('IN=');
const L_SP_OUT = pack(' OUT=');
const L_MAC = pack('MAC=');
const L_KERNEL = pack('kernel: ');
const L_NF_CT = pack('nf_ct_pr');
const L_CURSOR = pack('__CURSOR');
const L_REALTIME = pack('__REALTI');
const L_KERNEL_SP = pack('kernel ');
const L_OUT_EQ = <u32>pack('OUT=');
const L_KERN = <u32>pack('kern');

// ---------------------------------------------------------------------------------------------------------------
// Interning. Open addressing over (hash, id); ids index (offset, length) of a copy in the arena.
let idCount: i32 = 0;
let arenaUsed: i32 = 0;
let newCount: i32 = 0;
/** set when the table or arena is full: the scan stops, JavaScript takes the records, then calls reset() */
let full: bool = false;

export function reset(): void {
  memory.fill(<usize>TAB_BASE, 0, <usize>(TAB_SIZE * 8));
  for (let i = 0; i < 8; i++) unchecked((lastIds[i] = -1));
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
function internF(f: i32, a: i32, e: i32): i32 {
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
 * Id of the bytes [a, e). -1 when a byte is not ASCII (the line goes to JavaScript), -2 when the table is full.
 */
function intern(a: i32, e: i32): i32 {
  const n = e - a;
  let h: u32 = <u32>n * 0x9e3779b1;
  let any: u32 = 0;
  let p = a;
  while (p + 4 <= e) {
    const v = w32(p);
    any |= v;
    h = rotl<u32>(h ^ v, 13) * 0x85ebca6b;
    p += 4;
  }
  while (p < e) {
    const c = <u32>b(p);
    any |= c;
    h = (h ^ c) * 0x01000193;
    p++;
  }
  if ((any & 0x80808080) != 0) return -1;
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

function same(x: i32, y: i32, n: i32): bool {
  let i = 0;
  while (i + 8 <= n) {
    if (w64(x + i) != w64(y + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (b(x + i) != b(y + i)) return false;
    i++;
  }
  return true;
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

/** 1..max decimal digits at pos → value (pos moves past them); -1 when none or more than max. max ≤ 9. */
function digits(max: i32): i32 {
  let v = 0;
  let p = pos;
  const stop = p + max;
  let c = b(p);
  if (!isDigit(c)) return -1;
  while (isDigit(c)) {
    if (p == stop) return -1;
    v = v * 10 + (c - 48);
    p++;
    c = b(p);
  }
  pos = p;
  return v;
}

/** 1..10 digits → u32 value, or -1 (as i64) when none, too many, or over 2^32-1. */
function digitsU32(): i64 {
  let v: i64 = 0;
  let p = pos;
  let c = b(p);
  if (!isDigit(c)) return -1;
  while (isDigit(c)) {
    if (p - pos == 10) return -1;
    v = v * 10 + <i64>(c - 48);
    p++;
    c = b(p);
  }
  if (v > 0xffffffff) return -1;
  pos = p;
  return v;
}

/** Exactly n hex digits of one case (upper when `upper`) → value; -1 otherwise. */
function hexN(n: i32, upper: bool): i32 {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = b(pos + i);
    let d: i32;
    if (isDigit(c)) d = c - 48;
    else if (upper && c >= 65 && c <= 70) d = c - 55;
    else if (!upper && c >= 97 && c <= 102) d = c - 87;
    else return -1;
    v = v * 16 + d;
  }
  if (isHexAny(b(pos + n))) return -1;
  pos += n;
  return v;
}
@inline function isHexAny(c: i32): bool {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A space-terminated token from pos → interned id, pos on the space. -1/-2 as intern(). */
function word(f: i32): i32 {
  const p = space(pos);
  if (p >= lend) return -1; // the body always goes on after these tokens
  const id = internF(f, pos, p);
  pos = p;
  return id;
}

// ---------------------------------------------------------------------------------------------------------------
// Envelopes. Each mirrors the branch decodeEnvelope() in envelope.ts takes for that layout; where the JavaScript
// code would do anything less usual, these return false and the line goes to JavaScript.

/** readSeconds(s, a, e) of envelope.ts: `  499.178765` → f64, NaN when malformed. */
function seconds(a: i32, e: i32): f64 {
  while (a < e && b(a) == 32) a++;
  let dot = -1;
  for (let i = a; i < e; i++) {
    if (b(i) == 46) {
      dot = i;
      break;
    }
  }
  if (dot < 0) {
    const v = uintIn(a, e);
    return v < 0 ? NaN : <f64>v;
  }
  const ip = uintIn(a, dot);
  const fp = uintIn(dot + 1, e);
  if (ip < 0 || fp < 0) return NaN;
  return <f64>ip + <f64>fp / pow10(e - dot - 1);
}

/** readUint of time.ts over [a, e): -1 when empty or not all digits (≤15 digits here, else -1). */
function uintIn(a: i32, e: i32): i64 {
  if (e <= a || e - a > 15) return -1;
  let v: i64 = 0;
  for (let i = a; i < e; i++) {
    const c = b(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + <i64>(c - 48);
  }
  return v;
}

function pow10(n: i32): f64 {
  let v: f64 = 1;
  for (let i = 0; i < n; i++) v *= 10;
  return v;
}

/** Fraction digits at p (after '.'); sets R_FRACV/R_FRACN, returns the end. -1 when more than 9 digits. */
function fraction(p: i32): i32 {
  let v = 0;
  let q = p;
  while (isDigit(b(q))) {
    if (q - p == 9) return -1;
    v = v * 10 + (b(q) - 48);
    q++;
  }
  set(R_FRACV, v);
  set(R_FRACN, q - p);
  return q;
}

function monthAt(p: i32): i32 {
  const k = (b(p) << 16) | (b(p + 1) << 8) | b(p + 2);
  switch (k) {
    case 0x4a616e: return 0; // Jan
    case 0x466562: return 1;
    case 0x4d6172: return 2;
    case 0x417072: return 3;
    case 0x4d6179: return 4;
    case 0x4a756e: return 5;
    case 0x4a756c: return 6;
    case 0x417567: return 7;
    case 0x536570: return 8;
    case 0x4f6374: return 9;
    case 0x4e6f76: return 10;
    case 0x446563: return 11;
  }
  return -1;
}

/** syslogTail(): ` host kernel: ` or ` kernel: ` at p. 1 ok, 0 not a kernel line (skip), -1 fallback. */
function syslogTail(p: i32): i32 {
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
  while (sp < lend && b(sp) != 32) sp++;
  if (sp >= lend) return 0;
  if (!at(sp + 1, L_KERNEL, 8)) return 0;
  const id = internF(F_HOST, p, sp);
  if (id < 0) return -1;
  set(R_HOST, id);
  set(R_TRANSPORT, 2);
  pos = sp + 9;
  return 1;
}

/** `Apr 22 10:00:01[.123456] ` at p (month already checked). */
function rfc3164(p: i32): i32 {
  let d0 = b(p + 4);
  const d1 = b(p + 5);
  if (d1 == 32) return -1; // unpadded single-digit day: JavaScript
  if (d0 == 32) d0 = 48;
  if (!isDigit(d0) || !isDigit(d1) || b(p + 6) != 32) return -1;
  const day = (d0 - 48) * 10 + (d1 - 48);
  const t = p + 7;
  if (b(t + 2) != 58 || b(t + 5) != 58) return -1;
  if (!isDigit(b(t)) || !isDigit(b(t + 1)) || !isDigit(b(t + 3)) || !isDigit(b(t + 4)) || !isDigit(b(t + 6)) || !isDigit(b(t + 7))) return -1;
  const h = (b(t) - 48) * 10 + b(t + 1) - 48;
  const mi = (b(t + 3) - 48) * 10 + b(t + 4) - 48;
  const sec = (b(t + 6) - 48) * 10 + b(t + 7) - 48;
  if (day < 1 || day > 31 || h > 23 || mi > 59) return -1;
  let end = t + 8;
  if (b(end) == 46) {
    end = fraction(end + 1);
    if (end < 0) return -1;
  }
  set(R_TKIND, 1);
  set(R_MO, monthAt(p));
  set(R_D, day);
  set(R_H, h);
  set(R_MI, mi);
  set(R_S, sec);
  set(R_ENV, ENV_RFC3164);
  return syslogTail(end);
}

/** parseIso() of time.ts at p: returns the end, or -1 (not a stamp / JavaScript). */
function iso(p: i32): i32 {
  if (b(p + 4) != 45 || b(p + 7) != 45 || b(p + 13) != 58 || b(p + 16) != 58) return -1;
  const sep = b(p + 10);
  if (sep != 84 && sep != 32 && sep != 116) return -1;
  for (let i = 0; i < 19; i++) {
    if (i == 4 || i == 7 || i == 10 || i == 13 || i == 16) continue;
    if (!isDigit(b(p + i))) return -1;
  }
  const y = (b(p) - 48) * 1000 + (b(p + 1) - 48) * 100 + (b(p + 2) - 48) * 10 + b(p + 3) - 48;
  const mo = (b(p + 5) - 48) * 10 + b(p + 6) - 48;
  const d = (b(p + 8) - 48) * 10 + b(p + 9) - 48;
  const h = (b(p + 11) - 48) * 10 + b(p + 12) - 48;
  const mi = (b(p + 14) - 48) * 10 + b(p + 15) - 48;
  const sec = (b(p + 17) - 48) * 10 + b(p + 18) - 48;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
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
  set(R_D, d);
  set(R_H, h);
  set(R_MI, mi);
  set(R_S, sec);
  set(R_OFF, off);
  return i;
}

/** `[  499.178765] ` at p=0: dmesg, or short-monotonic when ` host kernel: ` follows. */
function bracketStamp(p: i32): i32 {
  let close = p;
  while (close < lend && b(close) != 93) close++;
  if (close >= lend) return -1;
  const c1 = b(p + 1);
  if ((c1 >= 65 && c1 <= 90) || (c1 >= 97 && c1 <= 122)) return -1; // dmesg -T: JavaScript
  const mono = seconds(p + 1, close);
  if (isNaN(mono)) return -1;
  store<f64>(<usize>(rec + R_MONO * 4), mono);
  set(R_HASMONO, 1);
  const after = b(close + 1) == 32 ? close + 2 : close + 1;
  let sp = after;
  while (sp < lend && b(sp) != 32) sp++;
  if (sp < lend && sp > after && at(sp + 1, L_KERNEL, 8)) {
    // short-monotonic only if the first '=' comes after the host (JavaScript: s.indexOf('=', after) > sp).
    let eq = after;
    while (eq < lend && b(eq) != 61) eq++;
    if (eq < lend && eq > sp) {
      const id = intern(after, sp);
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
  while (c2 < lend && b(c2) != 44) c2++;
  if (c2 >= lend) return -1;
  let c3 = c2 + 1;
  while (c3 < lend && b(c3) != 44) c3++;
  let semi = c2 + 1;
  while (semi < lend && b(semi) != 59) semi++;
  if (c3 >= lend || semi >= lend || c3 > semi) return -1;
  const usec = uintIn(c2 + 1, c3);
  if (prio < 0 || prio > 0x7fffffff || usec < 0) return -1;
  store<f64>(<usize>(rec + R_MONO * 4), <f64>usec / 1e6);
  set(R_HASMONO, 1);
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
  let hostEnd = q + 1;
  while (hostEnd < lend && b(hostEnd) != 32) hostEnd++;
  if (hostEnd >= lend) return -1;
  if (hostEnd == q + 2 && b(q + 1) == 45) {
    set(R_HOST, -1);
  } else {
    const id = intern(q + 1, hostEnd);
    if (id < 0) return -1;
    set(R_HOST, id);
  }
  // app must be exactly `kernel`
  if (!at(hostEnd + 1, L_KERNEL_SP, 7)) return -1;
  let procEnd = hostEnd + 8;
  while (procEnd < lend && b(procEnd) != 32) procEnd++;
  if (procEnd >= lend) return -1;
  let msgidEnd = procEnd + 1;
  while (msgidEnd < lend && b(msgidEnd) != 32) msgidEnd++;
  if (msgidEnd >= lend) return -1;
  let i = msgidEnd + 1;
  if (b(i) != 45) return -1;
  i++;
  if (b(i) == 32) i++;
  if (b(i) == 0xef) return -1; // a BOM: JavaScript
  set(R_TRANSPORT, 2);
  pos = i;
  return 1;
}

/** talosHostEnd() + talos() of envelope.ts. */
function talos(): i32 {
  const s0 = lineStart;
  let colon = -1;
  const lim = s0 + 64;
  for (let i = s0; i < lend && i <= lim + 1; i++) {
    const c = b(i);
    if (c == 58 && b(i + 1) == 32) {
      colon = i;
      break;
    }
  }
  if (colon <= s0 || colon - s0 > 64) return -2; // not talos: bare
  for (let i = s0; i < colon; i++) {
    const c = b(i);
    if (c == 32 || c == 61) return -2;
  }
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
  const id = intern(s0, colon);
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

/** The envelope of the line at lineStart. 1 ok (pos at the message), 0 skip, -1 fallback. */
function envelope(): i32 {
  const s = lineStart;
  const c0 = b(s);
  if (c0 == 60) {
    // `<PRI>`
    let gt = s + 1;
    while (gt < s + 5 && b(gt) != 62) gt++;
    if (b(gt) != 62 || gt - s < 2) return -1;
    if (uintIn(s + 1, gt) < 0) return -1;
    const p = gt + 1;
    if (b(p) == 49 && b(p + 1) == 32) return rfc5424(p + 2);
    return -1;
  }
  if (c0 == 91) return bracketStamp(s);
  if (isDigit(c0)) {
    let k = s + 1;
    while (isDigit(b(k))) k++;
    const ck = b(k);
    if (ck == 44) return kmsg(k);
    if (ck == 45 && k == s + 4) {
      const e = iso(s);
      if (e < 0) return -1;
      set(R_ENV, ENV_RFC3339);
      return syslogTail(e);
    }
    if (ck == 46) {
      // journalctl short-unix (`1713780001.123456 host kernel:`): JavaScript
      let j = k + 1;
      while (isDigit(b(j))) j++;
      if (b(j) == 32 && j > k + 1) return -1;
    }
  }
  const c1 = b(s + 1);
  if (c0 >= 65 && c0 <= 90 && c1 >= 97 && c1 <= 122 && b(s + 3) == 32 && monthAt(s) >= 0) return rfc3164(s);
  if (c0 == 123) return journalJson();
  if (c0 == 95) return -1; // journal export: JavaScript
  const t = talos();
  if (t != -2) return t;
  set(R_ENV, ENV_BARE);
  set(R_HOST, -1);
  set(R_TRANSPORT, 0);
  pos = s;
  return 1;
}

/** First index ≥ from (before lend) where the n-byte literal starts, or -1. */
function find(from: i32, lit: u64, n: i32): i32 {
  const c0 = <i32>(lit & 0xff);
  for (let i = from; i + n <= lend; i++) {
    if (b(i) == c0 && at(i, lit, n)) return i;
  }
  return -1;
}

/** Do the n bytes at a spell `key`? */
function keyIs(a: i32, n: i32, key: string): bool {
  if (n != key.length) return false;
  for (let i = 0; i < n; i++) if (b(a + i) != key.charCodeAt(i)) return false;
  return true;
}

/** All digits in [a, e) → value; -1 when empty or not all digits; -2 when 2^53 or more (JavaScript's). */
function digitsIn(a: i32, e: i32): i64 {
  if (e <= a) return -1;
  for (let i = a; i < e; i++) if (!isDigit(b(i))) return -1;
  if (e - a > 16) return -2;
  let v: i64 = 0;
  for (let i = a; i < e; i++) v = v * 10 + <i64>(b(i) - 48);
  return v > 0x1fffffffffffff ? -2 : v;
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
    let q = ka;
    for (;;) {
      const c = b(q);
      if (c == 34) break;
      if (c == 92 || c < 32 || q >= end) return -1;
      q++;
    }
    const kn = q - ka;
    if (b(q + 1) != 58 || b(q + 2) != 34) return -1;
    const va = q + 3;
    q = va;
    for (;;) {
      const c = b(q);
      if (c == 34) break;
      if (c == 92 || c < 32 || q >= end) return -1;
      q++;
    }
    const ve = q;
    const c0 = b(ka);
    if (c0 == 77 && keyIs(ka, kn, 'MESSAGE')) {
      msgA = va;
      msgE = ve;
    } else if (c0 == 95) {
      if (keyIs(ka, kn, '_TRANSPORT')) tKernel = ve - va == 6 && keyIs(va, 6, 'kernel');
      else if (keyIs(ka, kn, '_HOSTNAME')) {
        hostA = va;
        hostE = ve;
      } else if (keyIs(ka, kn, '__REALTIME_TIMESTAMP')) {
        rtA = va;
        rtE = ve;
      } else if (keyIs(ka, kn, '_SOURCE_MONOTONIC_TIMESTAMP')) {
        monoA = va;
        monoE = ve;
      }
    } else if (c0 == 83 && keyIs(ka, kn, 'SYSLOG_IDENTIFIER')) {
      identKernel = ve - va == 6 && keyIs(va, 6, 'kernel');
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
  if (msgA < 0 || (!tKernel && !identKernel)) return -1;
  set(R_ENV, ENV_JOURNAL_JSON);
  set(R_TRANSPORT, tKernel ? 1 : 2);
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
      store<f64>(<usize>(rec + R_MONO * 4), <f64>mv / 1e6);
      set(R_HASMONO, 1);
    }
  }
  if (hostA >= 0) {
    const id = internF(F_HOST, hostA, hostE);
    if (id < 0) return -1;
    set(R_HOST, id);
  }
  pos = msgA;
  lend = msgE;
  return 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The LOG body.

let pkt: i32 = 0;
@inline function setP(slot: i32, v: i32): void {
  store<i32>(<usize>(rec + (pkt + slot) * 4), v);
}
@inline function setPU(slot: i32, v: u32): void {
  store<u32>(<usize>(rec + (pkt + slot) * 4), v);
}

/** `SRC=… DST=… ` IPv4 or full-form IPv6 at pos → family, or 0. */
function addresses(): i32 {
  if (!at(pos, L_SRC, 4)) return 0;
  pos += 4;
  addrField = F_SRC;
  const fam = addr();
  if (fam == 0) return 0;
  const src = lastAddr;
  if (!at(pos, L_SP_DST, 5)) return 0;
  pos += 5;
  addrField = F_DST;
  if (addr() != fam) return 0;
  setP(P_SRC, src);
  setP(P_DST, lastAddr);
  setP(P_FAMILY, fam);
  return fam;
}
let lastAddr: i32 = 0;
let addrField: i32 = F_SRC;

/** One address at pos: dotted quad (1-3 digits each) → 4, eight groups of 4 lowercase hex → 6; 0 otherwise. */
function addr(): i32 {
  const a = pos;
  let p = pos;
  let fam = 0;
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
    fam = 6;
  } else {
    for (let g = 0; g < 4; g++) {
      const s = p;
      while (isDigit(b(p)) && p - s < 4) p++;
      if (p == s || p - s > 3) return 0;
      if (g < 3) {
        if (b(p) != 46) return 0;
        p++;
      }
    }
    fam = 4;
  }
  if (b(p) != 32) return 0;
  const id = internF(addrField, a, p);
  if (id < 0) return 0;
  lastAddr = id;
  pos = p;
  return fam;
}

/** IP header fields after the addresses, up to and including `PROTO=`; family 4 or 6. */
function ipHeader(fam: i32): bool {
  if (!at(pos, L_SP_LEN, 5)) return false;
  pos += 5;
  const len = digits(5);
  if (len < 0) return false;
  setP(P_LEN, len);
  if (fam == 4) {
    if (!at(pos, L_SP_TOS_0X, 7)) return false;
    pos += 7;
    const tos = hexN(2, true);
    if (tos < 0) return false;
    if (!at(pos, L_SP_PREC_0X, 8)) return false;
    pos += 8;
    const prec = hexN(2, true);
    if (prec < 0) return false;
    if (!at(pos, L_SP_TTL, 5)) return false;
    pos += 5;
    const ttl = digits(3);
    if (ttl < 0) return false;
    if (!at(pos, L_SP_ID, 4)) return false;
    pos += 4;
    const id = digits(5);
    if (id < 0) return false;
    if (b(pos) != 32) return false;
    pos++;
    let fl = 0;
    if (b(pos) == 67 && b(pos + 1) == 69 && b(pos + 2) == 32) {
      fl |= 1;
      pos += 3;
    }
    if (b(pos) == 68 && b(pos + 1) == 70 && b(pos + 2) == 32) {
      fl |= 2;
      pos += 3;
    }
    if (b(pos) == 77 && b(pos + 1) == 70 && b(pos + 2) == 32) {
      fl |= 4;
      pos += 3;
    }
    setP(P_TOS, tos);
    setP(P_PREC, prec);
    setP(P_TTL, ttl);
    setP(P_ID, id);
    setP(P_IPFLAGS, fl);
  } else {
    if (!at(pos, L_SP_TC, 4)) return false;
    pos += 4;
    const tc = digits(3);
    if (tc < 0) return false;
    if (!at(pos, L_SP_HOPLIMI, 8) || !at(pos + 8, L_T_EQ, 2)) return false;
    pos += 10;
    const hop = digits(3);
    if (hop < 0) return false;
    if (!at(pos, L_SP_FLOWLBL, 8) || b(pos + 8) != 61) return false;
    pos += 9;
    const fl = digits(7);
    if (fl < 0) return false;
    if (b(pos) != 32) return false;
    pos++;
    setP(P_TC, tc);
    setP(P_HOP, hop);
    setP(P_FLOWLBL, fl);
  }
  if (!at(pos, L_PROTO, 6)) return false;
  pos += 6;
  return true;
}

/** Flag words after `RES=0x.. `, strictly in kernel order, then `URGP=`. */
function tcpFlags(): i32 {
  let bits = 0;
  let last = -1;
  for (;;) {
    const c = b(pos);
    let f = -1;
    let n = 3;
    if (c == 65) {
      if (b(pos + 1) == 67 && b(pos + 2) == 75) f = 4; // ACK
      else if (b(pos + 1) == 69) { f = 0; n = 2; } // AE
    } else if (c == 80 && b(pos + 1) == 83 && b(pos + 2) == 72) f = 5; // PSH
    else if (c == 83 && b(pos + 1) == 89 && b(pos + 2) == 78) f = 7; // SYN
    else if (c == 70 && b(pos + 1) == 73 && b(pos + 2) == 78) f = 8; // FIN
    else if (c == 82 && b(pos + 1) == 83 && b(pos + 2) == 84) f = 6; // RST
    else if (c == 85 && b(pos + 1) == 82 && b(pos + 2) == 71) f = 3; // URG
    else if (c == 69 && b(pos + 1) == 67 && b(pos + 2) == 69) f = 2; // ECE
    else if (c == 67 && b(pos + 1) == 87 && b(pos + 2) == 82) f = 1; // CWR
    if (f < 0 || b(pos + n) != 32) break; // `URGP=` starts like URG
    if (f <= last) return -1;
    bits |= 1 << f;
    last = f;
    pos += n + 1;
  }
  return bits;
}

/** The transport header after `PROTO=`; inner: inside `[…]` of an ICMP error. */
function transport(inner: bool, fam: i32): bool {
  const c = b(pos);
  if (c == 84 && at(pos, L_TCP_SPT, 8)) {
    pos += 8;
    const spt = digits(5);
    if (spt < 0 || !at(pos, L_SP_DPT, 5)) return false;
    pos += 5;
    const dpt = digits(5);
    if (dpt < 0) return false;
    setP(P_PROTO, 1);
    setP(P_SPT, spt);
    setP(P_DPT, dpt);
    setP(P_HASSEQ, 0);
    if (at(pos, L_SP_SEQ, 5)) {
      pos += 5;
      const seq = digitsU32();
      if (seq < 0 || !at(pos, L_SP_ACK, 5)) return false;
      pos += 5;
      const ack = digitsU32();
      if (ack < 0) return false;
      setPU(P_SEQ, <u32>seq);
      setPU(P_ACK, <u32>ack);
      setP(P_HASSEQ, 1);
    }
    if (!at(pos, L_SP_WINDOW, 8)) return false;
    pos += 8;
    const win = digits(5);
    if (win < 0 || !at(pos, L_SP_RES_0X, 7)) return false;
    pos += 7;
    const res = hexN(2, false);
    if (res < 0 || b(pos) != 32) return false;
    pos++;
    const fl = tcpFlags();
    if (fl < 0 || !at(pos, L_URGP, 5)) return false;
    pos += 5;
    const urgp = digits(5);
    if (urgp < 0) return false;
    setP(P_WINDOW, win);
    setP(P_RES, res);
    setP(P_TCPFLAGS, fl);
    setP(P_URGP, urgp);
    return true;
  }
  if (c == 85 && at(pos, L_UDP_SPT, 8)) {
    pos += 8;
    const spt = digits(5);
    if (spt < 0 || !at(pos, L_SP_DPT, 5)) return false;
    pos += 5;
    const dpt = digits(5);
    if (dpt < 0 || !at(pos, L_SP_LEN, 5)) return false;
    pos += 5;
    const ulen = digits(5);
    if (ulen < 0) return false;
    setP(P_PROTO, 2);
    setP(P_SPT, spt);
    setP(P_DPT, dpt);
    setP(P_UDPLEN, ulen);
    return true;
  }
  if (c == 73) {
    let v6 = false;
    if (at(pos, L_ICMP_TY, 8) && at(pos + 6, L_YPE, 4)) {
      pos += 10;
    } else if (at(pos, L_ICMPV6_T, 8) && at(pos + 8, L_YPE, 4)) {
      pos += 12;
      v6 = true;
    } else {
      return false;
    }
    if ((fam == 6) != v6) return false;
    const type = digits(3);
    if (type < 0 || !at(pos, L_SP_CODE, 6)) return false;
    pos += 6;
    const code = digits(3);
    if (code < 0) return false;
    setP(P_PROTO, v6 ? 4 : 3);
    setP(P_ITYPE, type);
    setP(P_ICODE, code);
    setP(P_HASIDSEQ, 0);
    if (at(pos, L_SP_ID, 4)) {
      pos += 4;
      const id = digits(5);
      if (id < 0 || !at(pos, L_SP_SEQ, 5)) return false;
      pos += 5;
      const seq = digits(5);
      if (seq < 0) return false;
      setP(P_IID, id);
      setP(P_ISEQ, seq);
      setP(P_HASIDSEQ, 1);
      return true;
    }
    if (!inner && b(pos) == 32 && b(pos + 1) == 91) {
      // `[SRC=… ]`: the quoted packet, one level.
      pos += 2;
      const outer = pkt;
      pkt = P_INNER;
      const ok = packet(true);
      const innerFam = load<i32>(<usize>(rec + (P_INNER + P_FAMILY) * 4));
      pkt = outer;
      if (!ok || innerFam != fam) return false;
      if (b(pos) != 32 || b(pos + 1) != 93) return false;
      pos += 2;
      set(R_INNER, 1);
      return true;
    }
    return true;
  }
  return false;
}

/** Addresses, IP header and transport header into the current packet slots. */
function packet(inner: bool): bool {
  const fam = addresses();
  if (fam == 0) return false;
  if (!ipHeader(fam)) return false;
  return transport(inner, fam);
}

/** The body from pos (message start): prefix, IN= OUT= [MAC=] packet [UID= GID=] [MARK=] and the line's end. */
function body(): i32 {
  const msg = pos;
  // findBodyStart(): the first `IN=` whose token is followed by ` OUT=`.
  let i = msg;
  let bodyAt = -1;
  while (i + 3 <= lend) {
    if (b(i) == 73 && b(i + 1) == 78 && b(i + 2) == 61) {
      let sp = i + 3;
      while (sp < lend && b(sp) != 32) sp++;
      if (sp >= lend) break;
      if (w32(sp + 1) == L_OUT_EQ) {
        bodyAt = i;
        break;
      }
    }
    i++;
  }
  if (bodyAt < 0) {
    // No LOG body: not a drop (skip) — unless it plainly tries to be one (SRC=, DST=, PROTO= without IN=/OUT=),
    // which JavaScript reports as an issue.
    if (find(msg, L_SRC, 4) >= 0 && find(msg, L_SP_DST, 5) >= 0 && find(msg, L_SP_PROTO, 7) >= 0) return -1;
    return 2;
  }
  if (at(msg, L_NF_CT, 8)) return -1; // conntrack INVALID prefix: JavaScript
  const pid = internF(F_PREFIX, msg, bodyAt);
  if (pid < 0) return -1;
  set(R_PREFIX, pid);
  pos = bodyAt + 3;
  const inId = word(F_IN);
  if (inId < 0) return -1;
  if (!at(pos, L_SP_OUT, 5)) return -1;
  pos += 5;
  const outId = word(F_OUT);
  if (outId < 0) return -1;
  pos++;
  set(R_IN, inId);
  set(R_OUT, outId);
  if (at(pos, L_MAC, 4)) {
    pos += 4;
    const mac = word(F_MAC);
    if (mac < 0) return -1;
    pos++;
    set(R_MAC, mac);
  } else {
    set(R_MAC, -1);
  }
  pkt = P_OUTER;
  set(R_INNER, 0);
  if (!packet(false)) return -1;
  set(R_HASUID, 0);
  set(R_HASMARK, 0);
  if (at(pos, L_SP_UID, 5)) {
    pos += 5;
    const uid = digitsU32();
    if (uid < 0 || !at(pos, L_SP_GID, 5)) return -1;
    pos += 5;
    const gid = digitsU32();
    if (gid < 0) return -1;
    setU(R_UID, <u32>uid);
    setU(R_GID, <u32>gid);
    set(R_HASUID, 1);
  }
  if (at(pos, L_SP_MARK, 8)) {
    pos += 8;
    let v: u32 = 0;
    const s = pos;
    while (pos - s < 9) {
      const c = b(pos);
      if (isDigit(c)) v = v * 16 + <u32>(c - 48);
      else if (c >= 97 && c <= 102) v = v * 16 + <u32>(c - 87);
      else break;
      pos++;
    }
    if (pos == s || pos - s > 8) return -1;
    setU(R_MARK, v);
    set(R_HASMARK, 1);
  }
  // Nothing else: an optional single trailing space, then the end of the line.
  if (pos < lend && b(pos) == 32) pos++;
  if (pos != lend) return -1;
  return 1;
}

/** The next ' ' at or after p, eight bytes at a time; lend or more when there is none before lend. */
function space(p: i32): i32 {
  while (p < lend) {
    const x = w64(p) ^ 0x2020202020202020;
    const t = (x - 0x0101010101010101) & ~x & 0x8080808080808080;
    if (t != 0) return p + <i32>(ctz<u64>(t) >> 3);
    p += 8;
  }
  return lend;
}

/** The next '\n' at or after p, eight bytes at a time (the input always ends with one). */
function newline(p: i32): i32 {
  for (;;) {
    const x = w64(p) ^ 0x0a0a0a0a0a0a0a0a;
    const t = (x - 0x0101010101010101) & ~x & 0x8080808080808080;
    if (t != 0) return p + <i32>(ctz<u64>(t) >> 3);
    p += 8;
  }
  return p;
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
        while (close < lend && b(close) != 93) close++;
        if (close < lend && close - pos <= 20) {
          const mono = seconds(pos + 1, close);
          if (!isNaN(mono)) {
            if (load<i32>(<usize>(rec + R_HASMONO * 4)) == 0) {
              store<f64>(<usize>(rec + R_MONO * 4), mono);
              set(R_HASMONO, 1);
            }
            pos = b(close + 1) == 32 ? close + 2 : close + 1;
          }
        }
      }
      st = body();
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
