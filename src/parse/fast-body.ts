import type { DropEvent } from './event.js';
import { compressIpv6Cached } from './ipv6.js';

/**
 * The fast path: one sticky regular expression for the layouts the kernel prints for nearly every drop
 * (IPv4/IPv6 TCP, UDP, ICMP echo, optional MAC, UID/GID, MARK). V8 compiles it to native code, which scans a line
 * several times faster than a JavaScript token loop. Anything it does not match — options, sequence numbers,
 * fragments, ICMP errors with a quoted packet, ARP, PHYSIN, malformed or truncated lines — goes to the general
 * tokenizer in body.ts, which handles every field. Tests assert both paths give identical events.
 */
const HEAD = String.raw`IN=(\S*) OUT=(\S*) (?:MAC=(\S*) )?`;
const V4 = new RegExp(
  String.raw`${HEAD}SRC=(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) DST=(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) LEN=(\d{1,5}) TOS=(0x[0-9A-F]{2} PREC=0x[0-9A-F]{2}) TTL=(\d{1,3}) ID=(\d{1,5}) ((?:CE )?(?:DF )?(?:MF )?)PROTO=`,
  'y',
);
const V6 = new RegExp(
  String.raw`${HEAD}SRC=([0-9a-f]{4}(?::[0-9a-f]{4}){7}) DST=([0-9a-f]{4}(?::[0-9a-f]{4}){7}) LEN=(\d{1,5}) TC=(\d{1,3}) HOPLIMIT=(\d{1,3}) FLOWLBL=(\d{1,7}) PROTO=`,
  'y',
);
const TAIL = String.raw`(?: UID=(\d{1,10}) GID=(\d{1,10}))?(?: MARK=0x([0-9a-f]{1,8}))? ?$`;
const TCP = new RegExp(String.raw`TCP SPT=(\d{1,5}) DPT=(\d{1,5}) WINDOW=(\d{1,5}) RES=0x([0-9a-f]{2}) ((?:[A-Z]{2,3} )*)URGP=(\d{1,5})${TAIL}`, 'y');
const UDP = new RegExp(String.raw`UDP SPT=(\d{1,5}) DPT=(\d{1,5}) LEN=(\d{1,5})${TAIL}`, 'y');
const ICMP = new RegExp(String.raw`(ICMP|ICMPv6) TYPE=(\d{1,3}) CODE=(\d{1,3})(?: ID=(\d{1,5}) SEQ=(\d{1,5}))?${TAIL}`, 'y');

// Capture group numbers.
const G_IN = 1, G_OUT = 2, G_MAC = 3;
const G_SRC = 4, G_DST = 5, G_LEN = 6;
const G4_TOSPREC = 7, G4_TTL = 8, G4_ID = 9, G4_FLAGS = 10;
const G6_TC = 7, G6_HOP = 8, G6_FLOW = 9;
const GT_SPT = 1, GT_DPT = 2, GT_WIN = 3, GT_RES = 4, GT_FLAGS = 5, GT_URGP = 6, GT_UID = 7;
const GU_SPT = 1, GU_DPT = 2, GU_LEN = 3, GU_UID = 4;
const GI_PROTO = 1, GI_TYPE = 2, GI_CODE = 3, GI_ID = 4, GI_SEQ = 5, GI_UID = 6;

const FLAG_WORDS = new Set(['AE', 'CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']);
const flagCache = new Map<string, string[] | null>();

/** `ACK PSH ` → ['ACK', 'PSH'] (a fresh array each time), null for words that are not TCP flags. */
function flagsOf(text: string): string[] | null {
  // The combinations a firewall log is made of, compared directly: cheaper than hashing the capture for a Map.
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
    default:
      break;
  }
  let f = flagCache.get(text);
  if (f === undefined) {
    const words = text === '' ? [] : text.trimEnd().split(' ');
    f = words.every((w) => FLAG_WORDS.has(w)) ? words : null;
    if (flagCache.size < 512) flagCache.set(text, f);
  }
  return f === null ? null : f.slice();
}

const TOS_PREC_ZERO = '0x00 PREC=0x00';

/**
 * A decimal capture (validated by the pattern: 1-10 digits) → number. A char loop over a few digits costs a third
 * of Number(string).
 */
function n(v: string | undefined): number {
  const d = v as string;
  let x = 0;
  for (let i = 0; i < d.length; i++) x = x * 10 + d.charCodeAt(i) - 48;
  return x;
}

/**
 * Tries the fast path at `bodyStart`. Returns true and fills `ev` on a match; false leaves `ev` untouched for
 * the general parser.
 */
export function parseBodyFast(s: string, bodyStart: number, ev: DropEvent): boolean {
  // Two steps: the IP header (IPv4 first: by far the most common), then the transport header chosen by its
  // first letter. One regex per step keeps each small enough for V8 to compile to native code.
  let family: 4 | 6 = 4;
  V4.lastIndex = bodyStart;
  let h = V4.exec(s);
  let at: number;
  if (h === null) {
    V6.lastIndex = bodyStart;
    h = V6.exec(s);
    if (h === null) return false;
    family = 6;
    at = V6.lastIndex;
  } else {
    at = V4.lastIndex;
  }
  const c = s.charCodeAt(at);
  let t: RegExpExecArray | null;
  let uidGroup: number;
  if (c === 84 /* T */) {
    TCP.lastIndex = at;
    t = TCP.exec(s);
    uidGroup = GT_UID;
  } else if (c === 85 /* U */) {
    UDP.lastIndex = at;
    t = UDP.exec(s);
    uidGroup = GU_UID;
  } else if (c === 73 /* I */) {
    ICMP.lastIndex = at;
    t = ICMP.exec(s);
    uidGroup = GI_UID;
  } else {
    return false;
  }
  if (t === null) return false;
  let flags: string[] | null = null;
  if (c === 84) {
    flags = flagsOf(t[GT_FLAGS] as string);
    if (flags === null) return false;
  }
  ev.in = h[G_IN] as string;
  ev.out = h[G_OUT] as string;
  const mac = h[G_MAC];
  if (mac !== undefined) {
    ev.mac = mac;
    if (mac.length === 41) {
      ev.macdst = mac.slice(0, 17);
      ev.macsrc = mac.slice(18, 35);
      ev.macproto = mac.slice(36, 38) + mac.slice(39, 41);
    }
  }
  ev.src = h[G_SRC] as string;
  ev.dst = h[G_DST] as string;
  ev.len = n(h[G_LEN]);
  if (family === 4) {
    const tp = h[G4_TOSPREC] as string;
    if (tp === TOS_PREC_ZERO) {
      ev.tos = 0;
      ev.prec = 0;
    } else {
      ev.tos = parseInt(tp.slice(2, 4), 16);
      ev.prec = parseInt(tp.slice(12, 14), 16);
    }
    ev.ttl = n(h[G4_TTL]);
    ev.id = n(h[G4_ID]);
    const ipf = h[G4_FLAGS] as string;
    if (ipf !== '') ev.ipFlags = ipf === 'DF ' ? ['DF'] : ipf.trimEnd().split(' ');
  } else {
    ev.tc = n(h[G6_TC]);
    ev.hoplimit = n(h[G6_HOP]);
    ev.flowlbl = n(h[G6_FLOW]);
  }
  if (flags !== null) {
    ev.proto = 'TCP';
    ev.spt = n(t[GT_SPT]);
    ev.dpt = n(t[GT_DPT]);
    ev.window = n(t[GT_WIN]);
    const res = t[GT_RES] as string;
    ev.res = res === '00' ? 0 : parseInt(res, 16);
    ev.flags = flags;
    ev.urgp = n(t[GT_URGP]);
  } else if (c === 85) {
    ev.proto = 'UDP';
    ev.spt = n(t[GU_SPT]);
    ev.dpt = n(t[GU_DPT]);
    ev.udpLen = n(t[GU_LEN]);
  } else {
    ev.proto = t[GI_PROTO] === 'ICMP' ? 'ICMP' : 'ICMPv6';
    const icmp: DropEvent['icmp'] = { type: n(t[GI_TYPE]), code: n(t[GI_CODE]) };
    if (t[GI_ID] !== undefined) {
      icmp.id = n(t[GI_ID]);
      icmp.seq = n(t[GI_SEQ]);
    }
    ev.icmp = icmp;
  }
  const uid = t[uidGroup];
  if (uid !== undefined) {
    ev.uid = n(uid);
    ev.gid = n(t[uidGroup + 1]);
  }
  const mark = t[uidGroup + 2];
  if (mark !== undefined) ev.mark = parseInt(mark, 16);
  ev.family = family;
  if (family === 6) {
    ev.srcShort = compressIpv6Cached(ev.src);
    ev.dstShort = compressIpv6Cached(ev.dst);
  }
  return true;
}
