import type { DropEvent } from './event.js';
import { compressIpv6Cached } from './ipv6.js';

/**
 * The fast path for the layouts the kernel prints for nearly every drop (IPv4/IPv6 TCP, UDP, ICMP echo, optional
 * MAC, UID/GID, MARK). Two steps:
 *  1. one sticky regular expression *without capture groups* checks the whole body (V8 compiles it to native code;
 *     with no captures it builds no result array and no substrings — capturing ~20 groups cost more than the match);
 *  2. a cursor walks the now-known layout: literal keys are skipped by their length, numbers are read digit by digit
 *     in place, and only the strings the event keeps (devices, addresses, MAC) are sliced.
 * Anything the pattern does not accept — options, sequence numbers, fragments, ICMP errors with a quoted packet,
 * ARP, PHYSIN, malformed or truncated lines — goes to the general tokenizer in body.ts, which handles every field.
 * Tests assert both paths give identical events on every fixture and on synthetic lines in every envelope.
 */
const HEAD = String.raw`IN=\S* OUT=\S* (?:MAC=\S* )?`;
const L4 = String.raw`(?:TCP SPT=\d{1,5} DPT=\d{1,5} WINDOW=\d{1,5} RES=0x[0-9a-f]{2} (?:(?:AE|CWR|ECE|URG|ACK|PSH|RST|SYN|FIN) )*URGP=\d{1,5}|UDP SPT=\d{1,5} DPT=\d{1,5} LEN=\d{1,5}|ICMP TYPE=(?!0*(?:3|4|5|11) )\d{1,3} CODE=\d{1,3} ID=\d{1,5} SEQ=\d{1,5}|ICMPv6 TYPE=(?!0*[1-4] )\d{1,3} CODE=\d{1,3} ID=\d{1,5} SEQ=\d{1,5}|ICMP TYPE=(?!0*(?:0|8|3|4|5|11) )\d{1,3} CODE=\d{1,3}|ICMPv6 TYPE=(?!0*(?:[1-4]|128|129) )\d{1,3} CODE=\d{1,3})`;
const TAIL = String.raw`(?: UID=\d{1,10} GID=\d{1,10})?(?: MARK=0x[0-9a-f]{1,8})? ?$`;
const V4 = new RegExp(
  String.raw`${HEAD}SRC=\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3} DST=\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3} LEN=\d{1,5} TOS=0x[0-9A-F]{2} PREC=0x[0-9A-F]{2} TTL=\d{1,3} ID=\d{1,5} (?:CE )?(?:DF )?(?:MF )?PROTO=${L4}${TAIL}`,
  'y',
);
const V6 = new RegExp(
  String.raw`${HEAD}SRC=[0-9a-f]{4}(?::[0-9a-f]{4}){7} DST=[0-9a-f]{4}(?::[0-9a-f]{4}){7} LEN=\d{1,5} TC=\d{1,3} HOPLIMIT=\d{1,3} FLOWLBL=\d{1,7} PROTO=${L4}${TAIL}`,
  'y',
);

/** TCP flag words between `RES=0x00 ` and `URGP=` → array (a fresh one each time). */
function flagsOf(text: string): string[] {
  // The combinations a firewall log is made of, compared directly; the rest split.
  switch (text) {
    case 'ACK ':
      return ['ACK'];
    case 'SYN ':
      return ['SYN'];
    case 'ACK PSH ':
      return ['ACK', 'PSH'];
    case 'ACK FIN ':
      return ['ACK', 'FIN'];
    case 'ACK RST ':
      return ['ACK', 'RST'];
    case 'RST ':
      return ['RST'];
    case 'ACK SYN ':
      return ['ACK', 'SYN'];
    case 'ACK PSH FIN ':
      return ['ACK', 'PSH', 'FIN'];
    case 'FIN ':
      return ['FIN'];
    case '':
      return [];
    default:
      return text.trimEnd().split(' ');
  }
}

// The cursor: where the next field starts. Module state keeps the readers tiny (they inline).
let at = 0;

/** Decimal digits at the cursor; leaves the cursor on the first non-digit. */
function num(s: string): number {
  let x = 0;
  let c = s.charCodeAt(at) - 48;
  while (c >= 0 && c <= 9) {
    x = x * 10 + c;
    c = s.charCodeAt(++at) - 48;
  }
  return x;
}

/** Hex digits at the cursor (pattern-validated); leaves the cursor on the first non-hex character. */
function hexNum(s: string): number {
  let x = 0;
  for (;;) {
    const c = s.charCodeAt(at) | 32;
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else return x;
    x = x * 16 + v;
    at++;
  }
}

/** The text up to the next space (or the end), cursor left on that space. */
function word(s: string): string {
  const start = at;
  let e = s.indexOf(' ', at);
  if (e < 0) e = s.length;
  at = e;
  return s.slice(start, e);
}

/**
 * Tries the fast path at `bodyStart` (the `I` of `IN=`). Returns true and fills `ev` on a match; false leaves
 * `ev` untouched for the general parser.
 */
export function parseBodyFast(s: string, bodyStart: number, ev: DropEvent): boolean {
  let family: 4 | 6 = 4;
  V4.lastIndex = bodyStart;
  if (!V4.test(s)) {
    V6.lastIndex = bodyStart;
    if (!V6.test(s)) return false;
    family = 6;
  }
  at = bodyStart + 3; // IN=
  ev.in = word(s);
  at += 5; // " OUT="
  ev.out = word(s);
  at += 1;
  if (s.charCodeAt(at) === 77 /* M */) {
    at += 4; // MAC=
    const mac = word(s);
    at += 1;
    ev.mac = mac;
    // An Ethernet hard header: dst(6) src(6) type(2) = 14 bytes = 41 chars.
    if (mac.length === 41) {
      ev.macdst = mac.slice(0, 17);
      ev.macsrc = mac.slice(18, 35);
      ev.macproto = mac.slice(36, 38) + mac.slice(39, 41);
    }
  }
  at += 4; // SRC=
  const src = word(s);
  ev.src = src;
  at += 5; // " DST="
  const dst = word(s);
  ev.dst = dst;
  at += 5; // " LEN="
  ev.len = num(s);
  if (family === 4) {
    at += 7; // " TOS=0x"
    ev.tos = hexNum(s);
    at += 8; // " PREC=0x"
    ev.prec = hexNum(s);
    at += 5; // " TTL="
    ev.ttl = num(s);
    at += 4; // " ID="
    ev.id = num(s);
    at += 1;
    // CE DF MF, each followed by a space, until PROTO=
    if (s.charCodeAt(at) !== 80 /* P */) {
      const f: string[] = [];
      while (s.charCodeAt(at) !== 80) {
        const c = s.charCodeAt(at);
        f.push(c === 68 ? 'DF' : c === 77 ? 'MF' : 'CE');
        at += 3;
      }
      ev.ipFlags = f;
    }
  } else {
    at += 4; // " TC="
    ev.tc = num(s);
    at += 10; // " HOPLIMIT="
    ev.hoplimit = num(s);
    at += 9; // " FLOWLBL="
    ev.flowlbl = num(s);
    at += 1;
  }
  at += 6; // PROTO=
  const p0 = s.charCodeAt(at);
  if (p0 === 84 /* TCP */) {
    ev.proto = 'TCP';
    at += 8; // "TCP SPT="
    ev.spt = num(s);
    at += 5; // " DPT="
    ev.dpt = num(s);
    at += 8; // " WINDOW="
    ev.window = num(s);
    at += 7; // " RES=0x"
    ev.res = hexNum(s);
    at += 1;
    const u = s.indexOf('URGP=', at);
    ev.flags = flagsOf(s.slice(at, u));
    at = u + 5;
    ev.urgp = num(s);
  } else if (p0 === 85 /* UDP */) {
    ev.proto = 'UDP';
    at += 8; // "UDP SPT="
    ev.spt = num(s);
    at += 5; // " DPT="
    ev.dpt = num(s);
    at += 5; // " LEN="
    ev.udpLen = num(s);
  } else {
    const v6 = s.charCodeAt(at + 4) === 118; /* ICMPv6 */
    ev.proto = v6 ? 'ICMPv6' : 'ICMP';
    at += v6 ? 12 : 10; // "ICMPv6 TYPE=" / "ICMP TYPE="
    const type = num(s);
    at += 6; // " CODE="
    const code = num(s);
    const icmp: NonNullable<DropEvent['icmp']> = { type, code };
    if (s.startsWith(' ID=', at)) {
      at += 4;
      icmp.id = num(s);
      at += 5; // " SEQ="
      icmp.seq = num(s);
    }
    ev.icmp = icmp;
  }
  if (s.startsWith(' UID=', at)) {
    at += 5;
    ev.uid = num(s);
    at += 5; // " GID="
    ev.gid = num(s);
  }
  if (s.startsWith(' MARK=0x', at)) {
    at += 8;
    ev.mark = hexNum(s);
  }
  ev.family = family;
  if (family === 6) {
    ev.srcShort = compressIpv6Cached(src);
    ev.dstShort = compressIpv6Cached(dst);
  }
  return true;
}
