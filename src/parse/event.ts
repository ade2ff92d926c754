/**
 * The event contract: one netfilter LOG line, as the kernel printed it, with its envelope decoded.
 * Absent fields are absent (never `undefined`-valued keys, never invented defaults).
 * See README "Event contract".
 */

/** Who proves the line came from the kernel. */
export type Transport = 'kernel' | 'syslog';

/** The envelope a line was found in. */
export type Envelope =
  | 'rfc3164'
  | 'rfc3339'
  | 'rfc5424'
  | 'journal-short-monotonic'
  | 'journal-short-delta'
  | 'journal-short-unix'
  | 'journal-short-full'
  | 'journal-json'
  | 'journal-export'
  | 'journal-verbose'
  | 'dmesg'
  | 'dmesg-iso'
  | 'dmesg-T'
  | 'kmsg'
  | 'talos'
  | 'bare';

/** The packet quoted inside an ICMP/ICMPv6 error, between `[` and `]`. Never merged into the outer packet. */
export interface InnerPacket {
  src?: string;
  dst?: string;
  srcShort?: string;
  dstShort?: string;
  len?: number;
  tos?: number;
  prec?: number;
  ttl?: number;
  id?: number;
  tc?: number;
  hoplimit?: number;
  flowlbl?: number;
  ipFlags?: string[];
  frag?: number;
  /** its IPv6 fragment header's id (hex) */
  fragId?: string;
  proto?: string;
  spt?: number;
  dpt?: number;
  seq?: number;
  ack?: number;
  window?: number;
  res?: number;
  flags?: string[];
  urgp?: number;
  udpLen?: number;
  icmp?: IcmpInfo;
  spi?: number;
  incomplete?: number;
  truncated?: true;
  ipOpt?: string;
  tcpOpt?: string;
  unknown?: string[];
}

export interface IcmpInfo {
  type: number;
  code: number;
  id?: number;
  seq?: number;
  parameter?: number;
  pointer?: number;
  gateway?: string;
  mtu?: number;
  inner?: InnerPacket;
}

export interface ArpInfo {
  htype: number;
  ptype: number;
  opcode: number;
  macsrc?: string;
  ipsrc?: string;
  macdst?: string;
  ipdst?: string;
}

/**
 * A conntrack-INVALID line (`nf_ct_proto_<n>: <reason> …`; before Linux 4.14 the tracker's name, `nf_ct_tcp: <reason> …`),
 * direct evidence of lost or confused state.
 */
export interface CtInvalid {
  /** the L4 protocol number in the prefix, or of the tracker it names */
  protonum: number;
  /** the kernel's reason text, e.g. "invalid packet ignored in state ESTABLISHED" */
  reason: string;
}

/**
 * Every event is created with all keys (absent ones `undefined`, which JSON output omits), in this order: one
 * object shape for every line, so the stages that read events do so at monomorphic speed.
 */
export interface DropEvent {
  /** 1-based number of the input line within its source (for multi-line records, the record's first line) */
  line: number;
  /** the input file, when more than one source is read */
  file?: string | undefined;
  /** ISO 8601 in UTC, or null when the envelope carries no wall-clock time */
  time: string | null;
  /** milliseconds since the epoch, same instant as `time` (NaN never appears: null when unknown) */
  ts: number | null;
  /** kernel monotonic seconds, or null */
  mono: number | null;
  host: string | null;
  envelope: Envelope;
  transport?: Transport | undefined;
  /** log prefix exactly as printed, including a trailing space when the rule had one */
  prefix: string;
  in: string;
  out: string;
  physin?: string | undefined;
  physout?: string | undefined;
  /** `MAC=` raw hard-header bytes; empty string for L3 devices */
  mac?: string | undefined;
  macsrc?: string | undefined;
  macdst?: string | undefined;
  /** EtherType from `MAC=` (Ethernet headers) or `MACPROTO=` */
  macproto?: string | undefined;
  vproto?: string | undefined;
  vid?: number | undefined;
  family?: 4 | 6 | undefined;
  /** as printed (IPv6: the kernel's full form) */
  src?: string | undefined;
  dst?: string | undefined;
  /** IPv6 only: RFC 5952 compressed form of src/dst */
  srcShort?: string | undefined;
  dstShort?: string | undefined;
  len?: number | undefined;
  tos?: number | undefined;
  prec?: number | undefined;
  ttl?: number | undefined;
  id?: number | undefined;
  tc?: number | undefined;
  hoplimit?: number | undefined;
  flowlbl?: number | undefined;
  /** IPv4 `CE`, `DF`, `MF` in kernel order */
  ipFlags?: string[] | undefined;
  /** fragment offset (IPv4 `FRAG:`) or IPv6 fragment header offset */
  frag?: number | undefined;
  /** IPv6 fragment id (`ID:%08x`), hex as printed */
  fragId?: string | undefined;
  /** hex of `OPT (…)` after the IP header */
  ipOpt?: string | undefined;
  /** `TCP`, `UDP`, `UDPLITE`, `ICMP`, `ICMPv6`, `AH`, `ESP`, … or the protocol number as a string */
  proto?: string | undefined;
  spt?: number | undefined;
  dpt?: number | undefined;
  seq?: number | undefined;
  ack?: number | undefined;
  window?: number | undefined;
  res?: number | undefined;
  /** TCP flag words in kernel order (`AE CWR ECE URG ACK PSH RST SYN FIN`); present for TCP only */
  flags?: string[] | undefined;
  urgp?: number | undefined;
  tcpOpt?: string | undefined;
  /** UDP's own LEN (the second `LEN=` on the line) */
  udpLen?: number | undefined;
  icmp?: IcmpInfo | undefined;
  spi?: number | undefined;
  /** `INCOMPLETE [N bytes]` */
  incomplete?: number | undefined;
  truncated?: true | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  mark?: number | undefined;
  arp?: ArpInfo | undefined;
  ctInvalid?: CtInvalid | undefined;
  /** tokens fwdiag did not recognise, kept verbatim */
  unknown?: string[] | undefined;
}

export type IssueCode =
  | 'line-too-long'
  | 'other-format'
  | 'malformed-field'
  | 'missing-field'
  | 'truncated'
  | 'bad-envelope';

/** A line that looked like a LOG line but could not be fully read. */
export interface ParseIssue {
  issue: IssueCode;
  message: string;
  line: number;
  /** the offending input line, possibly cut to 1 KiB */
  text: string;
}

/** What one input line yielded. */
export type LineResult =
  | { kind: 'event'; event: DropEvent }
  /**
   * `event`: the packet as far as the line could be read, which consumers classify — only when what is missing is
   * not what a verdict rests on: a malformed or missing field, never a truncated line (its TCP flags or ports may be
   * cut off, and a cut flag list reads as a crafted probe), nor a line of another format (`other-format`: ebtables'
   * own, which is not read as a drop)
   */
  | { kind: 'issue'; issue: ParseIssue; event?: DropEvent }
  | { kind: 'skip' }
  | { kind: 'pending' };

export interface ParseCounters {
  lines: number;
  events: number;
  skipped: number;
  issues: number;
  /** lines cut at the line-length cap */
  cut: number;
  /** LOG lines left out because their prefix is not one asked for (ParserOptions.prefixes) */
  otherPrefix: number;
}

/**
 * The fields of a drop event that classification reads. A DropEvent is one; the parser also hands out a scanner's
 * record as one (LineParser.parseBytesPackets) when no event is printed — without building the event's other fields
 * (its time string, MAC, IP header…). Such a packet has `macdst` only when it is a group (broadcast or multicast)
 * address: all classification reads of it (castOf), so a unicast one is not cut out of every MAC header.
 */
export type Packet = Pick<
  DropEvent,
  | 'line' | 'file' | 'ts' | 'mono' | 'host' | 'prefix' | 'in' | 'out' | 'src' | 'dst' | 'srcShort' | 'dstShort' | 'proto' | 'spt'
  | 'dpt' | 'flags' | 'frag' | 'icmp' | 'arp' | 'ctInvalid' | 'macdst'
> & {
  /**
   * A packet from the scanner's record: a number that stands for the src (dst) string, the same for the same text
   * for as long as the scanner keeps its strings (never reused for another text), so classification can remember
   * the address's id by it instead of reading the string again. Absent on events.
   */
  srcKey?: number | undefined;
  dstKey?: number | undefined;
};
