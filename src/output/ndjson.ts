import type { DropEvent, ParseIssue } from '../parse/event.js';

/**
 * NDJSON for events, written by hand: `JSON.stringify` walks every key generically and costs more than parsing
 * the line did. Keys come in a fixed, documented order. Strings that hold anything but plain printable ASCII go
 * through JSON.stringify and then get DEL/C1/U+2028/U+2029 escaped too, so the output is safe on a terminal and
 * valid JSON for any consumer.
 */

const UNSAFE_AFTER_STRINGIFY = /[\u007f-\u009f\u2028\u2029]/g;

/** True when `v` needs no escaping inside a JSON string: printable ASCII other than `"` and `\`. */
function isPlain(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** A JSON string literal for `v`, escaping every control character (C0, DEL, C1) and the JS line separators. */
export function jsonString(v: string): string {
  if (isPlain(v)) return `"${v}"`;
  return JSON.stringify(v).replace(UNSAFE_AFTER_STRINGIFY, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Fields that repeat line after line (prefix, host, interfaces, MAC header) keep their last encoding: a string
 * compare instead of a scan.
 */
class Memo {
  private last = '';
  private json = '""';
  get(v: string): string {
    if (v !== this.last) {
      this.last = v;
      this.json = jsonString(v);
    }
    return this.json;
  }
}
const mPrefix = new Memo();
const mHost = new Memo();
const mIn = new Memo();
const mOut = new Memo();
const mMac = new Memo();
const mMacSrc = new Memo();
const mMacDst = new Memo();

/** Any JSON value with the same escaping as jsonString for every string inside it. */
export function jsonValue(v: unknown): string {
  return JSON.stringify(v).replace(UNSAFE_AFTER_STRINGIFY, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function words(a: string[]): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) out += i === 0 ? jsonString(a[i] as string) : `,${jsonString(a[i] as string)}`;
  return `${out}]`;
}

/**
 * The JSON object for one event, without a newline. `extra` (already JSON: `"verdict":"…",…`) is appended
 * inside the object, so later stages add their keys without re-serialising the event.
 */
export function eventToJson(ev: DropEvent, extra = ''): string {
  let o = `{"line":${ev.line}`;
  if (ev.file !== undefined) o += `,"file":${jsonString(ev.file)}`;
  o += ev.time === null ? ',"time":null' : `,"time":"${ev.time}"`;
  o += ev.ts === null ? ',"ts":null' : `,"ts":${ev.ts}`;
  o += ev.mono === null ? ',"mono":null' : `,"mono":${ev.mono}`;
  o += ev.host === null ? ',"host":null' : `,"host":${mHost.get(ev.host)}`;
  o += `,"envelope":"${ev.envelope}"`;
  if (ev.transport !== undefined) o += `,"transport":"${ev.transport}"`;
  o += `,"prefix":${mPrefix.get(ev.prefix)},"in":${mIn.get(ev.in)},"out":${mOut.get(ev.out)}`;
  if (ev.physin !== undefined) o += `,"physin":${jsonString(ev.physin)}`;
  if (ev.physout !== undefined) o += `,"physout":${jsonString(ev.physout)}`;
  if (ev.mac !== undefined) o += `,"mac":${mMac.get(ev.mac)}`;
  if (ev.macsrc !== undefined) o += `,"macsrc":${mMacSrc.get(ev.macsrc)}`;
  if (ev.macdst !== undefined) o += `,"macdst":${mMacDst.get(ev.macdst)}`;
  if (ev.macproto !== undefined) o += `,"macproto":${jsonString(ev.macproto)}`;
  if (ev.vproto !== undefined) o += `,"vproto":${jsonString(ev.vproto)}`;
  if (ev.vid !== undefined) o += `,"vid":${ev.vid}`;
  if (ev.family !== undefined) o += `,"family":${ev.family}`;
  if (ev.src !== undefined) o += `,"src":${jsonString(ev.src)}`;
  if (ev.dst !== undefined) o += `,"dst":${jsonString(ev.dst)}`;
  if (ev.srcShort !== undefined) o += `,"srcShort":${jsonString(ev.srcShort)}`;
  if (ev.dstShort !== undefined) o += `,"dstShort":${jsonString(ev.dstShort)}`;
  if (ev.len !== undefined) o += `,"len":${ev.len}`;
  if (ev.tos !== undefined) o += `,"tos":${ev.tos}`;
  if (ev.prec !== undefined) o += `,"prec":${ev.prec}`;
  if (ev.ttl !== undefined) o += `,"ttl":${ev.ttl}`;
  if (ev.id !== undefined) o += `,"id":${ev.id}`;
  if (ev.tc !== undefined) o += `,"tc":${ev.tc}`;
  if (ev.hoplimit !== undefined) o += `,"hoplimit":${ev.hoplimit}`;
  if (ev.flowlbl !== undefined) o += `,"flowlbl":${ev.flowlbl}`;
  if (ev.ipFlags !== undefined) o += `,"ipFlags":${words(ev.ipFlags)}`;
  if (ev.frag !== undefined) o += `,"frag":${ev.frag}`;
  if (ev.fragId !== undefined) o += `,"fragId":${jsonString(ev.fragId)}`;
  if (ev.ipOpt !== undefined) o += `,"ipOpt":${jsonString(ev.ipOpt)}`;
  if (ev.proto !== undefined) o += `,"proto":${ev.proto === 'TCP' ? '"TCP"' : jsonString(ev.proto)}`;
  if (ev.spt !== undefined) o += `,"spt":${ev.spt}`;
  if (ev.dpt !== undefined) o += `,"dpt":${ev.dpt}`;
  if (ev.seq !== undefined) o += `,"seq":${ev.seq}`;
  if (ev.ack !== undefined) o += `,"ack":${ev.ack}`;
  if (ev.window !== undefined) o += `,"window":${ev.window}`;
  if (ev.res !== undefined) o += `,"res":${ev.res}`;
  if (ev.flags !== undefined) o += `,"flags":${words(ev.flags)}`;
  if (ev.urgp !== undefined) o += `,"urgp":${ev.urgp}`;
  if (ev.tcpOpt !== undefined) o += `,"tcpOpt":${jsonString(ev.tcpOpt)}`;
  if (ev.udpLen !== undefined) o += `,"udpLen":${ev.udpLen}`;
  if (ev.icmp !== undefined) o += `,"icmp":${jsonValue(ev.icmp)}`;
  if (ev.spi !== undefined) o += `,"spi":${ev.spi}`;
  if (ev.incomplete !== undefined) o += `,"incomplete":${ev.incomplete}`;
  if (ev.truncated !== undefined) o += ',"truncated":true';
  if (ev.uid !== undefined) o += `,"uid":${ev.uid}`;
  if (ev.gid !== undefined) o += `,"gid":${ev.gid}`;
  if (ev.mark !== undefined) o += `,"mark":${ev.mark}`;
  if (ev.arp !== undefined) o += `,"arp":${jsonValue(ev.arp)}`;
  if (ev.ctInvalid !== undefined) o += `,"ctInvalid":${jsonValue(ev.ctInvalid)}`;
  if (ev.unknown !== undefined) o += `,"unknown":${words(ev.unknown)}`;
  if (extra !== '') o += `,${extra}`;
  return `${o}}`;
}

/** The JSON object for a parse issue record. */
export function issueToJson(i: ParseIssue, file?: string): string {
  const f = file === undefined ? '' : `,"file":${jsonString(file)}`;
  return `{"issue":"${i.issue}","message":${jsonString(i.message)},"line":${i.line}${f},"text":${jsonString(i.text)}}`;
}
