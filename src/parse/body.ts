import type { ArpInfo, CtInvalid, DropEvent, IcmpInfo, InnerPacket, IssueCode } from './event.js';
import { readUint } from './time.js';
import { compressIpv6Cached as compressIpv6 } from './ipv6.js';
import { parseBodyFast } from './fast-body.js';

/**
 * The LOG body exactly as nf_log_syslog.c prints it: `PREFIXIN=… OUT=… [PHYSIN=…] [MAC=…] SRC=… DST=… …`.
 * A single left-to-right pass over the string: keys are dispatched on an integer built from their length and
 * three characters (no substring per key), numbers are read in place. Only values that end up in the event
 * (addresses, interface names) are sliced.
 */

/** Where a LOG body starts inside `s` (the `I` of `IN=`), at or after `from`; -1 when there is none. */
export function findBodyStart(s: string, from: number): number {
  let i = s.indexOf('IN=', from);
  while (i >= 0) {
    // `IN=%s OUT=%s `: the in-device name has no spaces, so `OUT=` follows the next space.
    const sp = s.indexOf(' ', i + 3);
    if (sp < 0) return -1;
    if (s.startsWith('OUT=', sp + 1)) return i;
    // every other `IN=` before that space has the same next space: go on after it (a run of `IN=` stays linear)
    i = s.indexOf('IN=', sp + 1);
  }
  return -1;
}

function code(len: number, c0: number, c1: number, last: number): number {
  return (len << 24) | (c0 << 16) | (c1 << 8) | last;
}
function K(name: string): number {
  return code(name.length, name.charCodeAt(0), name.charCodeAt(1), name.charCodeAt(name.length - 1));
}

// Keys of `KEY=value` tokens.
const K_IN = K('IN'), K_OUT = K('OUT'), K_PHYSIN = K('PHYSIN'), K_PHYSOUT = K('PHYSOUT'), K_MAC = K('MAC');
const K_MACSRC = K('MACSRC'), K_MACDST = K('MACDST'), K_MACPROTO = K('MACPROTO'), K_VPROTO = K('VPROTO');
const K_VID = K('VID'), K_SRC = K('SRC'), K_DST = K('DST'), K_LEN = K('LEN'), K_TOS = K('TOS'), K_PREC = K('PREC');
const K_TTL = K('TTL'), K_ID = K('ID'), K_TC = K('TC'), K_HOPLIMIT = K('HOPLIMIT'), K_FLOWLBL = K('FLOWLBL');
const K_PROTO = K('PROTO'), K_SPT = K('SPT'), K_DPT = K('DPT'), K_SEQ = K('SEQ'), K_ACK = K('ACK');
const K_WINDOW = K('WINDOW'), K_RES = K('RES'), K_URGP = K('URGP'), K_TYPE = K('TYPE'), K_CODE = K('CODE');
const K_PARAMETER = K('PARAMETER'), K_POINTER = K('POINTER'), K_GATEWAY = K('GATEWAY'), K_MTU = K('MTU');
const K_SPI = K('SPI'), K_UID = K('UID'), K_GID = K('GID'), K_MARK = K('MARK'), K_HTYPE = K('HTYPE');
const K_PTYPE = K('PTYPE'), K_OPCODE = K('OPCODE'), K_IPSRC = K('IPSRC'), K_IPDST = K('IPDST');

// Bare words.
const W_ACK = K('ACK'), W_PSH = K('PSH'), W_RST = K('RST'), W_SYN = K('SYN'), W_FIN = K('FIN'), W_URG = K('URG');
const W_ECE = K('ECE'), W_CWR = K('CWR'), W_AE = K('AE'), W_CE = K('CE'), W_DF = K('DF'), W_MF = K('MF');
const W_OPT = K('OPT'), W_INCOMPLETE = K('INCOMPLETE'), W_TRUNCATED = K('TRUNCATED'), W_ARP = K('ARP');

/** Fields shared by the outer packet and an ICMP error's inner packet. */
type Target = DropEvent | InnerPacket;

export interface BodyError {
  code: IssueCode;
  message: string;
}

/** Reads `0x…` hex in s[a..b); -1 when malformed. */
function readHex0x(s: string, a: number, b: number): number {
  if (b - a < 3 || s.charCodeAt(a) !== 48 || (s.charCodeAt(a + 1) | 32) !== 120) return -1;
  return readHexDigits(s, a + 2, b);
}
function readHexDigits(s: string, a: number, b: number): number {
  if (b <= a || b - a > 13) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i) | 32;
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else return -1;
    n = n * 16 + v;
  }
  return n;
}

/** Parser state for one packet level (outer or the ICMP error's quoted packet). */
interface Level {
  t: Target;
  /** protocol word after PROTO=, '' before it */
  proto: string;
  icmp: IcmpInfo | null;
  flags: string[] | null;
  arp: ArpInfo | null;
  sawUrgp: boolean;
  sawDst: boolean;
  /** an ICMP error's quoted packet opened with `[` and not closed with `]` (the line was cut inside it) */
  openInner?: boolean;
}

let err: BodyError | null = null;
function fail(code: IssueCode, message: string): void {
  if (err === null) err = { code, message };
}

/** A decimal field value; -1 (and the line's first error recorded) when malformed. */
function num(s: string, a: number, b: number, key: string): number {
  const v = readUint(s, a, b);
  // A value cut by the end of the line is a truncated line, not a bad value.
  if (v < 0) fail(b >= s.length ? 'truncated' : 'malformed-field', `${key}= has a non-numeric value`);
  return v;
}

/** A `0x…` field value; -1 (and the line's first error recorded) when malformed. */
function hex(s: string, a: number, b: number, key: string): number {
  const v = readHex0x(s, a, b);
  if (v < 0) fail(b >= s.length ? 'truncated' : 'malformed-field', `${key}= has a malformed hex value`);
  return v;
}

function pushUnknown(t: Target, tok: string): void {
  const u = t.unknown;
  if (u === undefined) t.unknown = [tok];
  else if (u.length < 32) u.push(tok);
}

function icmpOf(lv: Level): IcmpInfo {
  if (lv.icmp === null) {
    lv.icmp = { type: -1, code: -1 };
    lv.t.icmp = lv.icmp;
  }
  return lv.icmp;
}

function isIcmp(proto: string): boolean {
  return proto === 'ICMP' || proto === 'ICMPv6';
}

/**
 * Parses fields of `s` from `i` to `n` into `lv`. Returns the index after the last consumed token; stops
 * early at a lone `]` when `inner` (the end of an ICMP error's quoted packet).
 */
function parseFields(s: string, i: number, n: number, lv: Level, inner: boolean, ev: DropEvent): number {
  const t = lv.t;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 32) {
      i++;
      continue;
    }
    let e = s.indexOf(' ', i);
    if (e < 0 || e > n) e = n;
    if (c === 93 /* ] */ && e === i + 1) {
      if (inner) {
        lv.openInner = false;
        return e;
      }
      pushUnknown(t, ']');
      i = e;
      continue;
    }
    if (c === 91 /* [ */) {
      // `[SRC=… ]`: the packet an ICMP error quotes. One level only: inside an inner packet it is unknown.
      if (!inner && isIcmp(lv.proto)) {
        const ic = icmpOf(lv);
        const innerPkt: InnerPacket = {};
        const ilv: Level = { t: innerPkt, proto: '', icmp: null, flags: null, arp: null, sawUrgp: false, sawDst: false, openInner: true };
        i = parseFields(s, i + 1, n, ilv, true, ev);
        if (ilv.openInner === true) lv.openInner = true;
        if (ilv.flags !== null) innerPkt.flags = ilv.flags;
        ic.inner = innerPkt;
        continue;
      }
      pushUnknown(t, s.slice(i, e));
      i = e;
      continue;
    }
    // '=' inside this token? (indexOf is native; a charCodeAt loop costs more than the rest of the line.)
    let eq = s.indexOf('=', i);
    if (eq >= e) eq = -1;
    if (eq < 0) {
      const len = e - i;
      const k = code(len, c, len > 1 ? s.charCodeAt(i + 1) : 0, s.charCodeAt(e - 1));
      if (len === 3 || len === 2) {
        if (lv.flags !== null) {
          // After RES= of a TCP header: flag words in kernel order.
          let w: string | null = null;
          if (k === W_ACK) w = 'ACK';
          else if (k === W_PSH) w = 'PSH';
          else if (k === W_SYN) w = 'SYN';
          else if (k === W_FIN) w = 'FIN';
          else if (k === W_RST) w = 'RST';
          else if (k === W_URG) w = 'URG';
          else if (k === W_ECE) w = 'ECE';
          else if (k === W_CWR) w = 'CWR';
          else if (k === W_AE) w = 'AE';
          if (w !== null && s.startsWith(w, i)) {
            lv.flags.push(w);
            i = e;
            continue;
          }
        }
        if (lv.proto === '') {
          let w: string | null = null;
          if (k === W_DF) w = 'DF';
          else if (k === W_MF) w = 'MF';
          else if (k === W_CE) w = 'CE';
          if (w !== null && s.startsWith(w, i)) {
            if (t.ipFlags === undefined) t.ipFlags = [w];
            else t.ipFlags.push(w);
            i = e;
            continue;
          }
        }
        if (k === W_OPT && s.startsWith('OPT', i)) {
          i = readOpt(s, e, n, lv, inner, ev);
          continue;
        }
        if (k === W_ARP && !inner && s.startsWith('ARP', i)) {
          lv.arp = { htype: -1, ptype: -1, opcode: -1 };
          ev.arp = lv.arp;
          i = e;
          continue;
        }
      } else if (k === W_INCOMPLETE && s.startsWith('INCOMPLETE', i)) {
        // `INCOMPLETE [%u bytes] ` (short packet) vs IPv6 fragment header's bare `INCOMPLETE ` (more fragments).
        let j = e;
        while (s.charCodeAt(j) === 32) j++;
        if (s.charCodeAt(j) === 91 /* [ */) {
          const sp = s.indexOf(' ', j);
          const v = readUint(s, j + 1, sp < 0 ? n : Math.min(sp, n));
          if (v < 0) fail('malformed-field', 'INCOMPLETE has a malformed byte count');
          else t.incomplete = v;
          const close = s.indexOf(']', j);
          i = close < 0 || close >= n ? n : close + 1;
        } else {
          if (t.ipFlags === undefined) t.ipFlags = ['MF'];
          else t.ipFlags.push('MF');
          i = e;
        }
        continue;
      } else if (k === W_TRUNCATED && s.startsWith('TRUNCATED', i)) {
        t.truncated = true;
        i = e;
        continue;
      } else if (inner && len === 10 && s.startsWith('TRUNCATED]', i)) {
        // the quoted packet's IP header could not be read: the kernel prints `TRUNCATED` and closes with `] `
        t.truncated = true;
        lv.openInner = false;
        return e;
      } else if (len > 5 && s.startsWith('FRAG:', i)) {
        if (len === 14 && s.startsWith('TRUNCATED', i + 5)) {
          // an IPv6 fragment header the packet holds less of than 8 bytes: dump_ipv6_packet prints
          // `FRAG:TRUNCATED ` and returns (nf_log_syslog.c), so nothing of the packet follows
          t.truncated = true;
          i = e;
          continue;
        }
        const v = readUint(s, i + 5, e);
        // (a value cut by the end of the line, `FRAG:TRUNC`, is a truncated line)
        if (v < 0) fail(e >= s.length ? 'truncated' : 'malformed-field', 'FRAG: has a non-numeric offset');
        else t.frag = v;
        i = e;
        continue;
      } else if (len === 11 && s.startsWith('ID:', i)) {
        // an IPv6 fragment header's id; in an ICMPv6 error's quoted packet, that packet's own
        t.fragId = s.slice(i + 3, e);
        i = e;
        continue;
      }
      pushUnknown(t, s.slice(i, e));
      i = e;
      continue;
    }
    const klen = eq - i;
    const k = code(klen, c, klen > 1 ? s.charCodeAt(i + 1) : 0, s.charCodeAt(eq - 1));
    const a = eq + 1;
    if (!parseKey(s, i, k, a, e, lv, inner, ev)) pushUnknown(t, s.slice(i, e));
    i = e;
  }
  return i;
}

/** `OPT (` hex `) ` (IPv4, TCP) or `OPT ( … ) ` (IPv6 extension headers): collect up to the closing paren. */
function readOpt(s: string, from: number, n: number, lv: Level, inner: boolean, ev: DropEvent): number {
  let j = from;
  while (s.charCodeAt(j) === 32) j++;
  if (s.charCodeAt(j) !== 40 /* ( */) return j;
  const close = s.indexOf(')', j);
  const end = close < 0 || close >= n ? n : close;
  const text = s.slice(j + 1, end).trim();
  const t = lv.t as DropEvent;
  if (lv.proto === 'TCP') {
    // `OPT (TRUNCATED)`: the header's length points past the packet's end (nf_log_dump_tcp_header); no option bytes
    if (text === 'TRUNCATED') t.truncated = true;
    else t.tcpOpt = text;
  } else {
    let k = j + 1;
    while (s.charCodeAt(k) === 32) k++;
    if (s.startsWith('FRAG:TRUNCATED', k) && (k + 14 >= n || s.charCodeAt(k + 14) === 32)) {
      // `OPT ( FRAG:TRUNCATED `: the fragment header could not be read and dump_ipv6_packet returned before
      // closing the group — what follows (an ICMPv6 error's `] `) is not inside it
      t.ipOpt = t.ipOpt === undefined ? 'FRAG:TRUNCATED' : `${t.ipOpt} FRAG:TRUNCATED`;
      t.truncated = true;
      return k + 14;
    }
    // IPv6 prints one `OPT ( … )` per extension header: keep them all.
    t.ipOpt = t.ipOpt === undefined ? text : `${t.ipOpt} ${text}`;
    // the fragment header in it (`--log-ip-options`) reads as it does bare: FRAG: offset, INCOMPLETE (MF), ID:
    if (text.startsWith('FRAG:')) parseFields(s, s.indexOf('FRAG:', j), end, lv, inner, ev);
    else if (text.startsWith('AH ') || text.startsWith('ESP')) {
      // `OPT ( AH SPI=0x… )`, `OPT ( ESP SPI=0x… )`, `… INCOMPLETE [N bytes] )`: the SPI and a short header read
      // as they do elsewhere. ESP is where the kernel stops (no PROTO= follows): this is what proves the protocol.
      const w = text.startsWith('AH ') ? 2 : 3;
      if (w === 3) {
        // the kernel closes the group (`SPI=0x%x )`, `)`, `INCOMPLETE [N bytes] )`): one cut before that is not ESP's
        if ((text.length > 3 && text.charCodeAt(3) !== 32) || close < 0 || close >= n) return end < n ? end + 1 : n;
        t.proto = 'ESP';
        lv.proto = 'ESP';
      }
      parseFields(s, s.indexOf(w === 2 ? 'AH' : 'ESP', j) + w, end, lv, inner, ev);
    }
  }
  return end < n ? end + 1 : n;
}

function parseKey(s: string, ks: number, k: number, a: number, e: number, lv: Level, inner: boolean, ev: DropEvent): boolean {
  const t = lv.t;
  // Ordered roughly by how often each key occurs on a line.
  if (k === K_SRC && s.startsWith('SRC', ks)) {
    if (lv.arp !== null) return false;
    t.src = s.slice(a, e);
    return true;
  }
  if (k === K_DST && s.startsWith('DST', ks)) {
    t.dst = s.slice(a, e);
    lv.sawDst = true;
    return true;
  }
  if (k === K_LEN && s.startsWith('LEN', ks)) {
    // The second LEN= on a UDP line is UDP's own length.
    if ((lv.proto === 'UDP' || lv.proto === 'UDPLITE') && t.dpt !== undefined) { const v = num(s, a, e, 'LEN'); if (v >= 0) t.udpLen = v; }
    else { const v = num(s, a, e, 'LEN'); if (v >= 0) t.len = v; }
    return true;
  }
  if (k === K_TOS && s.startsWith('TOS', ks)) {
    { const v = hex(s, a, e, 'TOS'); if (v >= 0) t.tos = v; }
    return true;
  }
  if (k === K_PREC && s.startsWith('PREC', ks)) {
    { const v = hex(s, a, e, 'PREC'); if (v >= 0) t.prec = v; }
    return true;
  }
  if (k === K_TTL && s.startsWith('TTL', ks)) {
    { const v = num(s, a, e, 'TTL'); if (v >= 0) t.ttl = v; }
    return true;
  }
  if (k === K_ID && s.startsWith('ID', ks)) {
    if (isIcmp(lv.proto)) { const v = num(s, a, e, 'ID'); if (v >= 0) icmpOf(lv).id = v; }
    else { const v = num(s, a, e, 'ID'); if (v >= 0) t.id = v; }
    return true;
  }
  if (k === K_PROTO && s.startsWith('PROTO', ks)) {
    const p = s.slice(a, e);
    lv.proto = p;
    t.proto = p;
    // The kernel names these protocols and prints every other one as a number.
    if (!KNOWN_PROTOS.has(p) && readUint(p, 0, p.length) < 0) {
      fail(e >= s.length ? 'truncated' : 'malformed-field', `PROTO=${p.slice(0, 16)} is not a protocol the kernel prints`);
    }
    return true;
  }
  if (k === K_SPT && s.startsWith('SPT', ks)) {
    { const v = num(s, a, e, 'SPT'); if (v >= 0) t.spt = v; }
    return true;
  }
  if (k === K_DPT && s.startsWith('DPT', ks)) {
    { const v = num(s, a, e, 'DPT'); if (v >= 0) t.dpt = v; }
    return true;
  }
  if (k === K_WINDOW && s.startsWith('WINDOW', ks)) {
    { const v = num(s, a, e, 'WINDOW'); if (v >= 0) t.window = v; }
    return true;
  }
  if (k === K_RES && s.startsWith('RES', ks)) {
    { const v = hex(s, a, e, 'RES'); if (v >= 0) t.res = v; }
    // Flag words follow RES= on a TCP header.
    if (lv.proto === 'TCP') lv.flags = [];
    return true;
  }
  if (k === K_URGP && s.startsWith('URGP', ks)) {
    { const v = num(s, a, e, 'URGP'); if (v >= 0) t.urgp = v; }
    lv.sawUrgp = true;
    if (lv.flags !== null && !inner) {
      ev.flags = lv.flags;
    }
    return true;
  }
  if (k === K_IN && s.startsWith('IN', ks) && !inner) {
    ev.in = s.slice(a, e);
    return true;
  }
  if (k === K_OUT && s.startsWith('OUT', ks) && !inner) {
    ev.out = s.slice(a, e);
    return true;
  }
  if (k === K_MAC && s.startsWith('MAC', ks) && !inner) {
    const mac = s.slice(a, e);
    ev.mac = mac;
    // An Ethernet hard header: dst(6) src(6) type(2) = 14 bytes = 41 chars.
    if (mac.length === 41) {
      ev.macdst = mac.slice(0, 17);
      ev.macsrc = mac.slice(18, 35);
      ev.macproto = mac.slice(36, 38) + mac.slice(39, 41);
    }
    return true;
  }
  if (k === K_SEQ && s.startsWith('SEQ', ks)) {
    if (isIcmp(lv.proto)) { const v = num(s, a, e, 'SEQ'); if (v >= 0) icmpOf(lv).seq = v; }
    else { const v = num(s, a, e, 'SEQ'); if (v >= 0) t.seq = v; }
    return true;
  }
  if (k === K_ACK && s.startsWith('ACK', ks)) {
    { const v = num(s, a, e, 'ACK'); if (v >= 0) t.ack = v; }
    return true;
  }
  if (k === K_TYPE && s.startsWith('TYPE', ks)) {
    const v = num(s, a, e, 'TYPE');
    if (v >= 0) icmpOf(lv).type = v;
    return true;
  }
  if (k === K_CODE && s.startsWith('CODE', ks)) {
    const v = num(s, a, e, 'CODE');
    if (v >= 0) icmpOf(lv).code = v;
    return true;
  }
  if (k === K_TC && s.startsWith('TC', ks)) {
    { const v = num(s, a, e, 'TC'); if (v >= 0) t.tc = v; }
    return true;
  }
  if (k === K_HOPLIMIT && s.startsWith('HOPLIMIT', ks)) {
    { const v = num(s, a, e, 'HOPLIMIT'); if (v >= 0) t.hoplimit = v; }
    return true;
  }
  if (k === K_FLOWLBL && s.startsWith('FLOWLBL', ks)) {
    { const v = num(s, a, e, 'FLOWLBL'); if (v >= 0) t.flowlbl = v; }
    return true;
  }
  if (k === K_PHYSIN && s.startsWith('PHYSIN', ks) && !inner) {
    ev.physin = s.slice(a, e);
    return true;
  }
  if (k === K_PHYSOUT && s.startsWith('PHYSOUT', ks) && !inner) {
    ev.physout = s.slice(a, e);
    return true;
  }
  if (k === K_UID && s.startsWith('UID', ks) && !inner) {
    { const v = num(s, a, e, 'UID'); if (v >= 0) ev.uid = v; }
    return true;
  }
  if (k === K_GID && s.startsWith('GID', ks) && !inner) {
    { const v = num(s, a, e, 'GID'); if (v >= 0) ev.gid = v; }
    return true;
  }
  if (k === K_MARK && s.startsWith('MARK', ks) && !inner) {
    { const v = hex(s, a, e, 'MARK'); if (v >= 0) ev.mark = v; }
    return true;
  }
  if (k === K_SPI && s.startsWith('SPI', ks)) {
    { const v = hex(s, a, e, 'SPI'); if (v >= 0) t.spi = v; }
    return true;
  }
  if (k === K_MTU && s.startsWith('MTU', ks)) {
    const v = num(s, a, e, 'MTU');
    if (v >= 0) icmpOf(lv).mtu = v;
    return true;
  }
  if (k === K_PARAMETER && s.startsWith('PARAMETER', ks)) {
    const v = num(s, a, e, 'PARAMETER');
    if (v >= 0) icmpOf(lv).parameter = v;
    return true;
  }
  if (k === K_POINTER && s.startsWith('POINTER', ks)) {
    const v = readHexDigits(s, a, e);
    if (v < 0) fail('malformed-field', 'POINTER= has a malformed hex value');
    else icmpOf(lv).pointer = v;
    return true;
  }
  if (k === K_GATEWAY && s.startsWith('GATEWAY', ks)) {
    icmpOf(lv).gateway = s.slice(a, e);
    return true;
  }
  if (!inner) {
    if (k === K_MACSRC && s.startsWith('MACSRC', ks)) {
      if (lv.arp !== null) lv.arp.macsrc = s.slice(a, e);
      else ev.macsrc = s.slice(a, e);
      return true;
    }
    if (k === K_MACDST && s.startsWith('MACDST', ks)) {
      if (lv.arp !== null) lv.arp.macdst = s.slice(a, e);
      else ev.macdst = s.slice(a, e);
      return true;
    }
    if (k === K_MACPROTO && s.startsWith('MACPROTO', ks)) {
      ev.macproto = s.slice(a, e);
      return true;
    }
    if (k === K_VPROTO && s.startsWith('VPROTO', ks)) {
      ev.vproto = s.slice(a, e);
      return true;
    }
    if (k === K_VID && s.startsWith('VID', ks)) {
      { const v = num(s, a, e, 'VID'); if (v >= 0) ev.vid = v; }
      return true;
    }
    if (lv.arp !== null) {
      const arp = lv.arp;
      if (k === K_HTYPE && s.startsWith('HTYPE', ks)) {
        arp.htype = readUint(s, a, e);
        return true;
      }
      if (k === K_PTYPE && s.startsWith('PTYPE', ks)) {
        arp.ptype = readHex0x(s, a, e);
        return true;
      }
      if (k === K_OPCODE && s.startsWith('OPCODE', ks)) {
        arp.opcode = readUint(s, a, e);
        return true;
      }
      if (k === K_IPSRC && s.startsWith('IPSRC', ks)) {
        arp.ipsrc = s.slice(a, e);
        return true;
      }
      if (k === K_IPDST && s.startsWith('IPDST', ks)) {
        arp.ipdst = s.slice(a, e);
        return true;
      }
    }
  }
  return false;
}

const CT_PREFIX = 'nf_ct_';
/**
 * conntrack's INVALID log before Linux 4.14 (commit c4f3db1595827, "netfilter: conntrack: add and use
 * nf_l4proto_log_invalid", which brought `nf_ct_proto_<n>: `): each tracker called nf_log_packet() with its own name,
 * `nf_ct_tcp: invalid packet ignored `, `nf_ct_udp: bad UDP checksum `, `nf_ct_icmpv6: invalid new with type 129 `
 * (nf_conntrack_proto_{tcp,udp,udplite,dccp}.c, nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c). SCTP logged
 * nothing before it; its `nf_ct_sctp: ` (and DCCP's since) comes after `nf_ct_proto_<n>: `, in the reason.
 */
const CT_TRACKERS = new Map([['tcp', 6], ['udp', 17], ['udplite', 136], ['icmp', 1], ['icmpv6', 58], ['dccp', 33]]);
/** names the reasons of today's kernels still begin with (their messages were written before c4f3db1595827) */
const CT_OLD_NAMES = new Set(['sctp', 'dccp']);

/** A conntrack INVALID line's `{protonum, reason}` from its prefix (`nf_ct_proto_6: `, `nf_ct_tcp: `), or undefined. */
function ctInvalidOf(prefix: string): CtInvalid | undefined {
  const colon = prefix.indexOf(':');
  if (colon < 0) return undefined;
  const name = prefix.slice(CT_PREFIX.length, colon);
  const num = name.startsWith('proto_') ? readUint(name, 6, name.length) : (CT_TRACKERS.get(name) ?? -1);
  if (num < 0) return undefined;
  // SCTP's and DCCP's messages still begin with their tracker's old name: `nf_ct_proto_132: nf_ct_sctp: short packet `
  let reason = prefix.slice(colon + 1).trim();
  const inner = reason.indexOf(': ');
  if (reason.startsWith(CT_PREFIX) && inner > 0 && CT_OLD_NAMES.has(reason.slice(CT_PREFIX.length, inner))) reason = reason.slice(inner + 2);
  return { protonum: num, reason };
}
const KNOWN_PROTOS = new Set(['TCP', 'UDP', 'UDPLITE', 'ICMP', 'ICMPv6', 'AH', 'ESP']);
let lastPrefix = '';

/**
 * Parses the body that starts at `bodyStart` (the `I` of `IN=`) into `ev`; the prefix is `s[msgStart..bodyStart)`.
 * Returns null when the body is complete, or what is wrong with it (the event is still filled as far as it goes).
 */
export function parseBody(s: string, msgStart: number, bodyStart: number, ev: DropEvent, fast = true): BodyError | null {
  err = null;
  // Prefixes repeat on every line: reuse the previous string when the bytes are the same.
  let prefix = lastPrefix;
  if (bodyStart - msgStart !== prefix.length || !s.startsWith(prefix, msgStart)) {
    prefix = s.slice(msgStart, bodyStart);
    lastPrefix = prefix;
  }
  ev.prefix = prefix;
  if (!prefix.startsWith(CT_PREFIX)) {
    if (fast && parseBodyFast(s, bodyStart, ev)) return null;
    // (after the fast path, which never accepts one: its pattern wants SRC= or MAC= after OUT=)
    const ebt = ebtLog(s, bodyStart);
    if (ebt !== null) return ebt;
  } else {
    // `nf_ct_proto_6: invalid packet ignored in state ESTABLISHED ` — conntrack's own INVALID log.
    ev.ctInvalid = ctInvalidOf(prefix);
  }
  const lv: Level = { t: ev, proto: '', icmp: null, flags: null, arp: null, sawUrgp: false, sawDst: false };
  parseFields(s, bodyStart, s.length, lv, false, ev);
  return finish(s, ev, lv);
}

/** The line's last token (trailing spaces aside). */
function lastToken(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return s.slice(s.lastIndexOf(' ', end - 1) + 1, end);
}

/**
 * An IPv6 line without `PROTO=` that ends where dump_ipv6_packet (nf_log_syslog.c) returns early — whole, not cut:
 * - ESP: nothing is printed for it (so the line stops after `FLOWLBL=`, or after a fragment header's `ID:`), or
 *   `OPT ( ESP SPI=0x… )` with `--log-ip-options`;
 * - a later fragment whose next header is an extension header: the fragment header's `ID:`, or `OPT ( )` /
 *   `OPT ( AH )` with `--log-ip-options`.
 */
function ipv6EndsEarly(s: string, ev: DropEvent): boolean {
  const last = lastToken(s);
  if (last.startsWith('FLOWLBL=')) return true;
  if (last.startsWith('ID:')) return ev.fragId !== undefined;
  if (last !== ')' || ev.ipOpt === undefined) return false;
  // the last `OPT ( … )` group's text
  const open = s.lastIndexOf('OPT (');
  const text = open < 0 ? '' : s.slice(open + 5, s.lastIndexOf(')')).trim();
  return text === 'ESP' || text.startsWith('ESP ') || ((text === '' || text === 'AH') && ev.frag !== undefined && ev.frag > 0);
}

/** A later IPv4 AH fragment's line (dump_ipv4_packet prints no `PROTO=AH` for it) ends with one of these tokens. */
function ipv4AhFragmentEnd(s: string): boolean {
  const last = lastToken(s);
  return /^(?:FRAG:\d+|\([0-9A-F]*\)|GID=\d+|MARK=0x[0-9a-f]+)$/.test(last);
}

/**
 * An IPv4 ICMP error logged where the IP header does not start the packet's data: dump_ipv4_packet (nf_log_syslog.c)
 * quotes the offending packet and prints UID=/MARK= only `if (!iphoff)`, and nf_log_ip_packet passes
 * skb_network_offset(skb) — not 0 on the netdev family's egress hook, where the data starts at the MAC header. Such
 * a line ends after `TYPE= CODE=` (`GATEWAY=` of a redirect, `MTU=` of fragmentation-needed): whole, as the kernel
 * wrote it. Egress has no input device, so `IN=` is empty and no MAC header is printed.
 */
function ipv4ErrorUnquoted(ev: DropEvent, type: number): boolean {
  if (ev.in !== '' || ev.mac !== undefined || ev.macsrc !== undefined || ev.uid !== undefined || ev.mark !== undefined) return false;
  const icmp = ev.icmp!;
  // the fields the kernel prints for these types whether it quotes or not
  if (type === 5 && icmp.gateway === undefined) return false;
  if (type === 3 && icmp.code === 4 && icmp.mtu === undefined) return false;
  return true;
}

/** Ethertypes whose frames the kernel logs past the MAC header (IPv4, IPv6, ARP, RARP). */
const LOGGED_ETHERTYPES = new Set(['0800', '86dd', '0806', '8035']);

/**
 * A bridge or netdev family line about a frame that is neither IP nor ARP: nf_log_unknown_packet prints the common
 * part and the MAC header only. An IP or ARP ethertype there means the line was cut before its addresses.
 */
function macOnly(s: string, ev: DropEvent): boolean {
  // the kernel prints the ethertype as %04x: anything else was cut
  if (ev.src !== undefined || ev.macproto === undefined || !/^[0-9a-f]{4}$/.test(ev.macproto) || LOGGED_ETHERTYPES.has(ev.macproto)) return false;
  const last = lastToken(s);
  return last.startsWith('MAC=') || last.startsWith('MACPROTO=');
}

/**
 * A packet too short for its IPv4, IPv6 or ARP header: dump_ipv4_packet, dump_ipv6_packet and dump_arp_packet
 * (nf_log_syslog.c) print `TRUNCATED` in place of the header and nothing after it, so the line is
 * `IN=… OUT=… [PHYSIN=…] [MAC=…] TRUNCATED`. The IP and ARP stacks check the header before their hooks; the bridge
 * and netdev families log any frame of those ethertypes. Whole, with no family and no addresses.
 */
function headerUnread(s: string, ev: DropEvent, lv: Level): boolean {
  return ev.truncated === true && lv.arp === null && !lv.sawDst && ev.len === undefined && ev.proto === undefined &&
    ev.unknown === undefined && lastToken(s) === 'TRUNCATED';
}

/**
 * ebtables' `--log` (ebt_log.c) writes its own format: `IN=%s OUT=%s MAC source = %pM MAC dest = %pM proto = 0x%04x`
 * then ` IP SRC=… IP DST=…, IP tos=…, IP proto=%d [SPT= DPT=]` or ARP words. It has no TCP flags, which is what a
 * drop's verdict rests on, so fwdiag does not read it as an event: an issue record of its own code says what it is,
 * instead of calling the line cut.
 */
function ebtLog(s: string, bodyStart: number): BodyError | null {
  const out = s.indexOf(' OUT=', bodyStart);
  if (out < 0) return null;
  const sp = s.indexOf(' ', out + 5);
  if (sp < 0 || !s.startsWith(' MAC source = ', sp)) return null;
  return { code: 'other-format', message: "an ebtables log line (ebt_log's 'MAC source = …' format has no TCP flags): not read as a drop" };
}

function finish(s: string, ev: DropEvent, lv: Level): BodyError | null {
  if (lv.flags !== null && ev.flags === undefined) ev.flags = lv.flags;
  if (ev.src !== undefined && lv.arp === null) {
    if (ev.src.indexOf(':') >= 0) {
      ev.family = 6;
      ev.srcShort = compressIpv6(ev.src);
      if (ev.dst !== undefined) ev.dstShort = compressIpv6(ev.dst);
      const inner = ev.icmp?.inner;
      if (inner !== undefined) {
        if (inner.src !== undefined) inner.srcShort = compressIpv6(inner.src);
        if (inner.dst !== undefined) inner.dstShort = compressIpv6(inner.dst);
      }
    } else {
      ev.family = 4;
    }
  }
  if (err !== null) return err;
  // What a complete line must have. A kernel line is built in a ~1 KiB buffer; syslog relays cut lines too.
  if (lv.arp !== null) {
    if (lv.arp.opcode < 0) return { code: 'truncated', message: 'ARP line without OPCODE=' };
    return null;
  }
  if (ev.in === undefined || ev.out === undefined) return { code: 'missing-field', message: 'no IN=/OUT=' };
  if (ev.src === undefined && macOnly(s, ev)) return null;
  if (ev.src === undefined && headerUnread(s, ev, lv)) return null;
  if (ev.src === undefined || !lv.sawDst) return { code: 'truncated', message: 'no SRC=/DST= address pair' };
  if (ev.proto === undefined) {
    if (ev.truncated === true || ev.incomplete !== undefined) return null;
    // IPv6: ESP, and a later fragment followed by an extension header, end the line early (see ipv6EndsEarly)
    if (ev.family === 6 && ipv6EndsEarly(s, ev)) return null;
    // IPv4: an AH fragment other than the first stops before `PROTO=AH`: its line ends at FRAG:, the IP options, or
    // the UID=/GID= and MARK= that may follow
    if (ev.family === 4 && ev.frag !== undefined && ev.frag > 0 && ipv4AhFragmentEnd(s)) return null;
    return { code: 'truncated', message: 'line ends before PROTO=' };
  }
  const proto = ev.proto;
  // A non-first fragment has no transport header to print.
  const laterFragment = ev.frag !== undefined && ev.frag > 0;
  if (ev.incomplete !== undefined || ev.truncated === true || laterFragment) return null;
  // The kernel prints these fields together (nf_log_syslog.c): a line that stops between them was cut.
  if (proto === 'TCP') {
    if (ev.spt === undefined || ev.dpt === undefined) return { code: 'truncated', message: 'TCP line without SPT=/DPT=' };
    if (!lv.sawUrgp) return { code: 'truncated', message: 'TCP line ends before URGP=' };
  } else if (proto === 'UDP' || proto === 'UDPLITE') {
    if (ev.spt === undefined || ev.dpt === undefined) return { code: 'truncated', message: 'UDP line without SPT=/DPT=' };
    if (ev.udpLen === undefined) return { code: 'truncated', message: `${proto} line ends before its LEN= (after DPT=)` };
  } else if (proto === 'ICMP' || proto === 'ICMPv6') {
    if (ev.icmp === undefined || ev.icmp.type < 0 || ev.icmp.code < 0) {
      return { code: 'truncated', message: `${proto} line without TYPE=/CODE=` };
    }
    const v6 = proto === 'ICMPv6';
    const type = ev.icmp.type;
    if ((ev.icmp.id !== undefined || (v6 ? type === 128 || type === 129 : type === 0 || type === 8)) && ev.icmp.seq === undefined) {
      return { code: 'truncated', message: `${proto} echo line ends before its ID= SEQ=` };
    }
    if (lv.openInner === true) return { code: 'truncated', message: `${proto} line ends inside the quoted packet (no closing ])` };
    // an error quotes the packet it is about (destination unreachable, source quench, redirect, time exceeded;
    // ICMPv6 1-4, parameter problem too: nf_log_syslog.c)
    if (ev.icmp.inner === undefined && (v6 ? type >= 1 && type <= 4 : type === 3 || type === 4 || type === 5 || type === 11)) {
      if (!v6 && ipv4ErrorUnquoted(ev, type)) return null;
      return { code: 'truncated', message: `${proto} error line ends before its quoted packet ([…])` };
    }
  }
  return null;
}
