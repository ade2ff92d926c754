/**
 * Per-packet verdict rules: what one dropped packet is, judged alone. TCP flags decide first (a packet without SYN
 * belongs to a connection that already exists; SYN ACK answers a SYN), ports break ties (which side is the
 * server), and the ephemeral range is only the last resort — peers use other ranges and SNAT remaps ports.
 *
 * The hot path (`judge`) writes into a caller-owned {@link Judgement} and builds no strings; `explain` builds the
 * human reason only when someone will read it.
 */
import type { DropEvent, Packet } from '../parse/event.js';
import type { PortRange } from './options.js';
import { isGroupMac } from '../parse/mac.js';
import { endpoint as withPort } from '../parse/ipv6.js';
import { serviceForProtocol, type ServiceLookup } from './services.js';

/** Stable verdict strings (they appear in JSON). */
export type Verdict = 'conntrack-loss' | 'genuine-block' | 'scan' | 'broadcast' | 'undetermined';
export const VERDICTS: readonly Verdict[] = ['conntrack-loss', 'genuine-block', 'scan', 'broadcast', 'undetermined'];

/** Which address of the packet is the server (the side offering the service). */
export type ServerSide = 'src' | 'dst';

/** Which rule decided; stable, so tests and later stages can branch on it instead of on reason text. */
export type RuleId =
  | 'no-protocol'
  | 'arp'
  | 'fragment'
  | 'no-ports'
  | 'port-zero'
  | 'tcp-syn'
  | 'tcp-syn-ack'
  | 'tcp-crafted-flags'
  | 'tcp-from-service'
  | 'tcp-to-service'
  | 'tcp-both-services'
  | 'tcp-from-low-range'
  | 'tcp-to-low-range'
  | 'tcp-ambiguous-ports'
  | 'udp-to-service'
  | 'udp-from-service'
  | 'udp-reply-to-named-port'
  | 'udp-same-port'
  | 'udp-reply-or-nodeport'
  | 'udp-from-low-range'
  | 'udp-to-port'
  | 'udp-ambiguous-ports'
  | 'icmp-echo-request'
  | 'icmp-echo-reply'
  | 'icmp-error-own'
  | 'icmp-error-foreign'
  | 'icmp-error-no-inner'
  | 'icmp-neighbour-discovery'
  | 'icmp-other'
  | 'ip-protocol'
  | 'link-broadcast'
  | 'link-multicast';

/** The outcome of judging one packet. Mutable so the classifier can reuse one per stream. */
export interface Judgement {
  verdict: Verdict;
  rule: RuleId;
  server: ServerSide;
  /** service name of the server port (or protocol), when known */
  service: string | undefined;
  /** lower-case protocol: `tcp`, `udp`, `icmp`, `icmpv6`, `esp`, `4`, … ('' when absent) */
  proto: string;
  /** TCP flag bits (see FLAG_*) */
  flags: number;
  /** a new-connection attempt the scan detector should count (SYN, UDP to a port, crafted TCP flags) */
  probe: boolean;
  /** {@link ICMP_ERROR} for an ICMP or ICMPv6 error message, {@link ICMP_LINK} for ICMPv6 neighbour discovery and
   * MLD, else {@link ICMP_INFO} (every other packet too): part of the flow key, so errors, the link's own messages
   * and echo between one pair of hosts are separate flows */
  icmpClass: number;
}

/**
 * ICMP message classes, as the RFCs split them (RFC 1122 3.2.2: error and query messages; RFC 4443 2.1: error and
 * informational messages). An error (destination unreachable, time exceeded, parameter problem, packet too big…)
 * quotes a packet it is about: RELATED traffic of a connection, or about one this host never made. An echo request
 * is a new inbound ping. One pair of hosts may exchange both — a host pinging another and getting port unreachables
 * back for its UDP — and an operator acts on them differently, so a flow holds one class: a flow named and judged
 * after its first packet would hide the other. The class, not the type: the errors of one conversation (a
 * traceroute's time exceeded and port unreachable, a fragmentation needed among unreachables) tell one story, and
 * an echo request and its reply are one conversation, as a SYN and its SYN ACK are.
 */
export const ICMP_INFO = 0;
export const ICMP_ERROR = 1;
/**
 * ICMPv6's link machinery (RFC 4861 neighbour discovery and redirect, 133-137; RFC 3810 MLD, 130-132 and 143): the
 * messages IPv6 needs to reach its neighbours at all, refused by another rule than a ping (RFC 4890 4.4.1). Most go
 * to a multicast group, but neighbour unreachability detection solicits a neighbour unicast, link-local to
 * link-local: beside pings between those addresses. A flow named after a ping hid them (test/lab/ipv6-nud.test.ts:
 * its operator opens echo, and IPv6 to that neighbour stays broken), so they are a class of their own.
 */
export const ICMP_LINK = 2;

/** An ICMPv6 type of the link's own machinery ({@link ICMP_LINK}): neighbour discovery, redirect, MLD. */
function isIcmp6Link(type: number): boolean {
  return (type >= 130 && type <= 137) || type === 143;
}

/** An ICMP (v6: ICMPv6) error message type: the ones judge() reads as quoting a packet. */
export function isIcmpError(type: number, v6: boolean): boolean {
  return v6 ? type >= 1 && type <= 4 : type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

export function emptyJudgement(): Judgement {
  return { verdict: 'undetermined', rule: 'no-protocol', server: 'dst', service: undefined, proto: '', flags: 0, probe: false, icmpClass: ICMP_INFO };
}

/** What the rules need besides the packet. */
export interface VerdictContext {
  ephemeral: PortRange;
  nodePorts: PortRange;
  services: ServiceLookup;
}

/** The service name given to ports in the NodePort range. */
export const NODEPORT = 'NodePort';

export const FLAG_FIN = 1;
export const FLAG_SYN = 2;
export const FLAG_RST = 4;
export const FLAG_PSH = 8;
export const FLAG_ACK = 16;
export const FLAG_URG = 32;
export const FLAG_ECE = 64;
export const FLAG_CWR = 128;
export const FLAG_AE = 256;

/** Flag bits from the kernel's flag words. */
export function flagBits(words: readonly string[] | undefined): number {
  if (words === undefined) return 0;
  let bits = 0;
  for (let i = 0; i < words.length; i++) {
    switch (words[i]) {
      case 'ACK': bits |= FLAG_ACK; break;
      case 'SYN': bits |= FLAG_SYN; break;
      case 'FIN': bits |= FLAG_FIN; break;
      case 'RST': bits |= FLAG_RST; break;
      case 'PSH': bits |= FLAG_PSH; break;
      case 'URG': bits |= FLAG_URG; break;
      case 'ECE': bits |= FLAG_ECE; break;
      case 'CWR': bits |= FLAG_CWR; break;
      case 'AE': bits |= FLAG_AE; break;
    }
  }
  return bits;
}

const FLAG_ORDER: ReadonlyArray<readonly [number, string]> = [
  [FLAG_AE, 'AE'], [FLAG_CWR, 'CWR'], [FLAG_ECE, 'ECE'], [FLAG_URG, 'URG'], [FLAG_ACK, 'ACK'],
  [FLAG_PSH, 'PSH'], [FLAG_RST, 'RST'], [FLAG_SYN, 'SYN'], [FLAG_FIN, 'FIN'],
];

/** Every flag bit FLAG_ORDER names. */
const ALL_FLAGS = FLAG_ORDER.reduce((all, [bit]) => all | bit, 0);
/** flagsText() by the bits it reads: a flow's flags are a handful of combinations, spelled once each */
const flagsTexts: Array<string | undefined> = new Array<string | undefined>(ALL_FLAGS + 1).fill(undefined);

/** Flag words in kernel order, e.g. `ACK FIN`; `none` for a packet without flags. */
export function flagsText(bits: number): string {
  const known = bits & ALL_FLAGS;
  let text = flagsTexts[known];
  if (text === undefined) {
    const out: string[] = [];
    for (const [bit, word] of FLAG_ORDER) if (known & bit) out.push(word);
    text = flagsTexts[known] = out.length ? out.join(' ') : 'none';
  }
  return text;
}

/** Lower-case protocol name; cached because `toLowerCase` allocates. */
const lowerCache = new Map<string, string>();
export function lowerProto(proto: string | undefined): string {
  if (proto === undefined) return '';
  switch (proto) {
    case 'TCP': return 'tcp';
    case 'UDP': return 'udp';
    case 'ICMP': return 'icmp';
    case 'ICMPv6': return 'icmpv6';
    case 'UDPLITE': return 'udplite';
  }
  let l = lowerCache.get(proto);
  if (l === undefined) {
    l = proto.toLowerCase();
    // protocol names are a small set; the cap only guards against garbage input
    if (lowerCache.size < 1024) lowerCache.set(proto, l);
  }
  return l;
}

function inRange(p: number, r: PortRange): boolean {
  return p >= r.from && p <= r.to;
}

/**
 * Judges one packet into `out` (and returns it). Pure: same event and context, same judgement.
 */
export function judge(e: Packet, ctx: VerdictContext, out: Judgement): Judgement {
  const proto = lowerProto(e.proto);
  out.proto = proto;
  out.flags = 0;
  out.service = undefined;
  out.probe = false;
  out.server = 'dst';
  out.icmpClass = ICMP_INFO;
  if (proto === 'tcp' || proto === 'udp' || proto === 'udplite') {
    const spt = e.spt;
    const dpt = e.dpt;
    if (spt === undefined || dpt === undefined) {
      return set(out, 'undetermined', e.frag !== undefined && e.frag > 0 ? 'fragment' : 'no-ports');
    }
    if (spt === 0 || dpt === 0) return set(out, 'undetermined', 'port-zero');
    // the configured NodePort range wins over any catalog name, so NodePorts read the same whatever the catalog
    const sSvc = inRange(spt, ctx.nodePorts) ? NODEPORT : ctx.services(proto, spt);
    const dSvc = inRange(dpt, ctx.nodePorts) ? NODEPORT : ctx.services(proto, dpt);
    const j = proto === 'tcp' ? judgeTcp(e, spt, dpt, sSvc, dSvc, ctx, out) : judgeUdp(e, spt, dpt, sSvc, dSvc, ctx, out);
    // The catalog's names say what this node serves. A server on the far side — the packet's source coming in, its
    // destination going out — is named by the well-known names first (ctx.services.remote): a remote HTTPS server
    // is `https`, not the platform's UI. Forwarded packets (IN= and OUT= both set) keep the node's names: their
    // server may be a pod behind a hostPort. A LAN chatter name is no catalog's, and NodePorts are the range's.
    const svc = j.service;
    if (svc !== undefined && svc !== NODEPORT && (j.server === 'src' ? e.out === '' && e.in !== '' : e.in === '' && e.out !== '')
      && j.rule !== 'link-broadcast' && j.rule !== 'link-multicast') {
      const remote = ctx.services.remote;
      if (remote !== undefined) j.service = remote(proto, j.server === 'src' ? spt : dpt) ?? svc;
    }
    return j;
  }
  if (proto === 'icmp' || proto === 'icmpv6') return judgeIcmp(e, proto === 'icmpv6', out);
  if (proto === '') {
    if (e.arp !== undefined) {
      // its own protocol: ARP lines and frames that are neither IP nor ARP are different flows
      out.proto = 'arp';
      return set(out, 'undetermined', 'arp');
    }
    return set(out, 'undetermined', e.frag !== undefined && e.frag > 0 ? 'fragment' : 'no-protocol');
  }
  // AH, ESP, IP-in-IP, GRE, VRRP…: a portless protocol reaching the node is a new flow the ruleset refused — unless it
  // went to everyone on the segment and is nothing a node serves (IGMP group management, an unnamed protocol)
  const service = serviceForProtocol(e.proto ?? '');
  out.service = service;
  out.probe = false;
  if (service === undefined || service === 'IGMP') {
    const cast = castOf(e.dst, e.macdst);
    if (cast !== CAST_UNICAST) return lanChatter(out, cast, service);
  }
  return set(out, 'genuine-block', 'ip-protocol');
}

/** DHCP's and DHCPv6's server ports: relays send to them from the same port. */
const DHCP_SERVER_PORTS: ReadonlySet<number> = new Set([67, 547]);
/** rpcbind and NFS: UDP servers whose clients bind reserved ports (below 1024). */
const RPC_SERVER_PORTS: ReadonlySet<number> = new Set([111, 2049]);

/** How a packet was addressed (see {@link castOf}). */
export const CAST_UNICAST = 0;
export const CAST_BROADCAST = 1;
export const CAST_MULTICAST = 2;

/**
 * Broadcast or multicast: the destination MAC when the line has one (its group bit; all ones is broadcast — the only
 * way to tell a subnet's broadcast address, `x.x.x.255` on a /24, from a host's), else the destination address:
 * 255.255.255.255, 224.0.0.0/4, ff00::/8. Anything else is unicast.
 */
export function castOf(dst: string | undefined, macdst: string | undefined): number {
  if (macdst !== undefined && macdst.length === 17 && isGroupMac(macdst)) {
    return macdst === 'ff:ff:ff:ff:ff:ff' ? CAST_BROADCAST : CAST_MULTICAST;
  }
  if (dst === undefined || dst.length < 7) return CAST_UNICAST;
  const c0 = dst.charCodeAt(0);
  if (c0 === 102 || c0 === 70) {
    // ff00::/8: a first group of four digits starting `ff` (the kernel prints IPv6 in lower case; other writers may not)
    const c1 = dst.charCodeAt(1);
    return (c1 === 102 || c1 === 70) && dst.indexOf(':') === 4 ? CAST_MULTICAST : CAST_UNICAST;
  }
  // IPv4: the first octet, 224-239 multicast; all ones broadcast
  if (dst.charCodeAt(3) !== 46) return CAST_UNICAST;
  const o = (c0 - 48) * 100 + (dst.charCodeAt(1) - 48) * 10 + (dst.charCodeAt(2) - 48);
  if (o >= 224 && o <= 239) return CAST_MULTICAST;
  return dst === '255.255.255.255' ? CAST_BROADCAST : CAST_UNICAST;
}

/**
 * Names of LAN discovery and announcement protocols (UDP destination ports), for the reason and `service` of a
 * broadcast drop. None is a service a Kubernetes node offers; a port a catalog names never gets here.
 */
const CHATTER_UDP: ReadonlyMap<number, string> = new Map([
  [137, 'NetBIOS name service'],
  [138, 'NetBIOS datagram service'],
  [520, 'RIP'],
  [546, 'DHCPv6 client'],
  [547, 'DHCPv6 server'],
  [1900, 'SSDP (UPnP discovery)'],
  [1985, 'HSRP'],
  [3702, 'WS-Discovery'],
  [5353, 'mDNS'],
  [5355, 'LLMNR'],
  [6771, 'BitTorrent local peer discovery'],
  [10001, 'Ubiquiti discovery'],
  [17500, 'Dropbox LAN sync'],
  [21027, 'Syncthing discovery'],
]);

function lanChatter(out: Judgement, cast: number, service: string | undefined): Judgement {
  out.server = 'dst';
  out.service = service;
  out.probe = false;
  return set(out, 'broadcast', cast === CAST_BROADCAST ? 'link-broadcast' : 'link-multicast');
}

function set(out: Judgement, verdict: Verdict, rule: RuleId): Judgement {
  out.verdict = verdict;
  out.rule = rule;
  return out;
}

function judgeTcp(
  e: Packet, spt: number, dpt: number, sSvc: string | undefined, dSvc: string | undefined,
  ctx: VerdictContext, out: Judgement,
): Judgement {
  const f = flagBits(e.flags);
  out.flags = f;
  const syn = (f & FLAG_SYN) !== 0;
  const ack = (f & FLAG_ACK) !== 0;
  const finRst = (f & (FLAG_FIN | FLAG_RST)) !== 0;
  if (syn) {
    if (finRst) {
      // SYN FIN / SYN RST never come from a real stack: crafted (scanner, fingerprinting)
      out.probe = true;
      out.service = dSvc ;
      return set(out, 'undetermined', 'tcp-crafted-flags');
    }
    if (ack) {
      // SYN ACK answers a SYN: the source is the server whatever the ports say
      out.server = 'src';
      out.service = sSvc ;
      return set(out, 'conntrack-loss', 'tcp-syn-ack');
    }
    out.probe = true;
    out.service = dSvc ;
    return set(out, 'genuine-block', 'tcp-syn');
  }
  if (!ack && (f === 0 || (f & (FLAG_FIN | FLAG_PSH | FLAG_URG)) === (FLAG_FIN | FLAG_PSH | FLAG_URG))) {
    // NULL and Xmas packets: no stack sends them
    out.probe = true;
    out.service = dSvc ;
    return set(out, 'undetermined', 'tcp-crafted-flags');
  }
  // A bare FIN (no ACK) is what a FIN scan sends: counted for scans, judged like any non-SYN packet otherwise
  if (!ack && (f & FLAG_FIN) !== 0 && (f & FLAG_RST) === 0) out.probe = true;
  return nonSyn(spt, dpt, sSvc, dSvc, ctx, out);
}

/** Direction for a packet that is not a connection start: a known service side is the server. */
function nonSyn(
  spt: number, dpt: number, sSvc: string | undefined, dSvc: string | undefined,
  ctx: VerdictContext, out: Judgement,
): Judgement {
  const sKnown = sSvc !== undefined || spt < 1024;
  const dKnown = dSvc !== undefined || dpt < 1024;
  if (sKnown && !dKnown) {
    out.server = 'src';
    out.service = sSvc ;
    return set(out, 'conntrack-loss', 'tcp-from-service');
  }
  if (dKnown && !sKnown) {
    out.server = 'dst';
    out.service = dSvc ;
    return set(out, 'conntrack-loss', 'tcp-to-service');
  }
  if (sKnown && dKnown) {
    // Both look like services. A catalogued service beats a merely privileged port (an NFS client binds a
    // reserved port < 1024 to talk to 2049); when both or neither are catalogued, the lower port is the likelier
    // server (SNAT can remap a client port onto a low one).
    const sCat = sSvc !== undefined;
    const dCat = dSvc !== undefined;
    const srcIsServer = sCat !== dCat ? sCat : spt <= dpt;
    out.server = srcIsServer ? 'src' : 'dst';
    out.service = srcIsServer ? sSvc  : dSvc ;
    return set(out, 'conntrack-loss', 'tcp-both-services');
  }
  const sEph = inRange(spt, ctx.ephemeral);
  const dEph = inRange(dpt, ctx.ephemeral);
  if (!sEph && dEph) {
    out.server = 'src';
    return set(out, 'conntrack-loss', 'tcp-from-low-range');
  }
  if (sEph && !dEph) {
    out.server = 'dst';
    return set(out, 'conntrack-loss', 'tcp-to-low-range');
  }
  out.server = spt <= dpt ? 'src' : 'dst';
  return set(out, 'undetermined', 'tcp-ambiguous-ports');
}

function judgeUdp(
  e: Packet, spt: number, dpt: number, sSvc: string | undefined, dSvc: string | undefined,
  ctx: VerdictContext, out: Judgement,
): Judgement {
  // A datagram to a broadcast or multicast address, to a port no catalog names (NodePorts are never reached that
  // way): LAN chatter — mDNS, SSDP, NetBIOS, LLMNR — that the LOG rule records.
  if (dSvc === undefined || dSvc === NODEPORT) {
    const cast = castOf(e.dst, e.macdst);
    if (cast !== CAST_UNICAST) return lanChatter(out, cast, CHATTER_UDP.get(dpt));
  }
  // UDP has no flags: ports decide. A datagram to a known service is a new flow (VXLAN, WireGuard and NTP use the
  // same port on both ends, so "to a service" wins over "from a service") — unless it comes from a privileged port to
  // a port in the ephemeral range: a server's answer to a client port the kernel picked, which a catalog happens to
  // name too (Linux hands DNS clients 51820 or 51871 as readily as any other port of 32768-60999). NodePorts lie
  // outside Linux's default range and stay services — unless --ephemeral says this node's range reaches them: then
  // an answer and a datagram to a NodePort look alike.
  if (dSvc !== undefined) {
    if (spt < 1024 && dSvc === NODEPORT && inRange(dpt, ctx.ephemeral)) {
      out.service = dSvc;
      return set(out, 'undetermined', 'udp-reply-or-nodeport');
    }
    if (spt < 1024 && dSvc !== NODEPORT && inRange(dpt, ctx.ephemeral)) {
      out.server = 'src';
      out.service = sSvc;
      return set(out, 'conntrack-loss', 'udp-reply-to-named-port');
    }
    out.service = dSvc ;
    // The same privileged port on both ends (NTP's 123, DNS's 53, IKE's 500): a request to this host and the answer
    // to its own request look alike. Not DHCP's 67 nor DHCPv6's 547: a relay agent forwards clients' requests from
    // that port to a server's (RFC 1542, RFC 8415), and a node the catalog makes a DHCP server is that server. Above
    // 1024 (VXLAN, WireGuard, Geneve) peers talk to each other on the one port, and a drop is the tunnel refused.
    if (spt === dpt && dpt < 1024 && !DHCP_SERVER_PORTS.has(dpt)) return set(out, 'undetermined', 'udp-same-port');
    out.probe = true;
    return set(out, 'genuine-block', 'udp-to-service');
  }
  // From a service to a port ≥ 1024, or from rpcbind or NFS to a reserved port no catalog names (their clients bind
  // ports of 512-1023: Linux's RPC client takes 665-1023): a reply. Not from any catalogued port to any low port: a
  // client's random port may be one a catalog names (51820), and a UDP scan from port 53 must still be a scan.
  if (((sSvc !== undefined || spt < 1024) && dpt >= 1024) || (RPC_SERVER_PORTS.has(spt) && dpt >= 512 && dpt < 1024)) {
    out.server = 'src';
    out.service = sSvc ;
    return set(out, 'conntrack-loss', 'udp-from-service');
  }
  const sEph = inRange(spt, ctx.ephemeral);
  const dEph = inRange(dpt, ctx.ephemeral);
  if (!sEph && dEph && dpt >= 1024) {
    out.server = 'src';
    return set(out, 'conntrack-loss', 'udp-from-low-range');
  }
  if (!dEph) {
    out.probe = true;
    return set(out, 'genuine-block', 'udp-to-port');
  }
  return set(out, 'undetermined', 'udp-ambiguous-ports');
}


function judgeIcmp(e: Packet, v6: boolean, out: Judgement): Judgement {
  const icmp = e.icmp;
  if (icmp === undefined) return set(out, 'undetermined', 'no-ports');
  const t = icmp.type;
  const label = v6 ? 'ICMPv6' : 'ICMP';
  // by the type, before the verdict: the class is the flow's, whatever its packets are judged
  const isError = isIcmpError(t, v6);
  if (isError) out.icmpClass = ICMP_ERROR;
  else if (v6 && isIcmp6Link(t)) out.icmpClass = ICMP_LINK;
  // IPv4 ICMP to everyone (a broadcast ping, router discovery) is chatter; ICMPv6 to a multicast group is neighbour
  // discovery and the like, which IPv6 needs (judged below)
  if (!v6) {
    const cast = castOf(e.dst, e.macdst);
    if (cast !== CAST_UNICAST) return lanChatter(out, cast, t === 8 ? 'ICMP echo' : t === 9 || t === 10 ? 'ICMP router discovery' : undefined);
  }
  if ((!v6 && t === 8) || (v6 && t === 128)) {
    out.probe = false;
    out.service = `${label} echo`;
    return set(out, 'genuine-block', 'icmp-echo-request');
  }
  if ((!v6 && t === 0) || (v6 && t === 129)) {
    out.server = 'src';
    out.service = `${label} echo`;
    return set(out, 'conntrack-loss', 'icmp-echo-reply');
  }
  if (isError) {
    out.server = 'src';
    const inner = icmp.inner;
    if (inner === undefined || inner.src === undefined) return set(out, 'undetermined', 'icmp-error-no-inner');
    // The quoted packet left this host when its source is the address the error came back to
    if (e.dst !== undefined && inner.src === e.dst) return set(out, 'conntrack-loss', 'icmp-error-own');
    return set(out, 'undetermined', 'icmp-error-foreign');
  }
  // 130-132 and 143 (the MLDv2 report Linux sends by default): multicast listener discovery; 133-137: neighbours
  if (out.icmpClass === ICMP_LINK) {
    out.service = t <= 132 || t === 143 ? 'ICMPv6 multicast listener' : 'ICMPv6 neighbour discovery';
    return set(out, 'genuine-block', 'icmp-neighbour-discovery');
  }
  out.service = `${label} type ${t}`;
  return set(out, 'genuine-block', 'icmp-other');
}

const ICMP_ERROR_NAMES: Record<number, string> = {
  3: 'destination unreachable', 4: 'source quench', 5: 'redirect', 11: 'time exceeded', 12: 'parameter problem',
};
const ICMP6_ERROR_NAMES: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem',
};

/** `addr:port (service)` (an IPv6 address in brackets: {@link withPort}). */
function endpoint(addr: string | undefined, port: number | undefined, svc: string | undefined): string {
  const a = withPort(addr ?? '?', port);
  return svc && port !== undefined ? `${a} (${svc})` : a;
}

function portWithService(port: number | undefined, svc: string | undefined): string {
  return svc ? `${port} (${svc})` : String(port);
}

function tcpStory(f: number): string {
  if (f & FLAG_RST) return 'reset of a connection whose conntrack state was lost';
  if (f & FLAG_FIN) return (f & FLAG_ACK) ? 'teardown of a connection whose conntrack state was lost' : 'FIN without ACK (teardown of an untracked connection, or a FIN probe)';
  if (f & FLAG_PSH) return 'data on a connection whose conntrack state was lost';
  return 'traffic of a connection whose conntrack state was lost';
}

/** What `explain` reads of a packet: a DropEvent, or what a flow keeps of one. */
export type ExplainInput = Pick<DropEvent, 'src' | 'dst' | 'srcShort' | 'dstShort' | 'spt' | 'dpt' | 'frag' | 'proto' | 'icmp' | 'truncated'>;

/** The human reason for a judgement, naming the evidence. Only called when the text will be shown. */
export function explain(e: ExplainInput, j: Judgement, ctx: VerdictContext): string {
  const src = e.srcShort ?? e.src;
  const dst = e.dstShort ?? e.dst;
  const eph = `${ctx.ephemeral.from}-${ctx.ephemeral.to}`;
  const ft = flagsText(j.flags);
  const sSvc = j.server === 'src' ? j.service : undefined;
  const dSvc = j.server === 'dst' ? j.service : undefined;
  // UDP-Lite is judged as UDP (the same ports and services) but named as what it is
  const udpName = j.proto === 'udplite' ? 'UDP-Lite' : 'UDP';
  switch (j.rule) {
    case 'no-protocol':
      if (src === undefined) {
        // `… MAC=… TRUNCATED`: a frame too short for its IP or ARP header (nf_log_syslog.c prints nothing after it)
        if (e.truncated === true) return 'a packet too short for its IP or ARP header (TRUNCATED: the kernel logged no addresses): nothing to classify';
        return 'a frame that is neither IP nor ARP (only its MAC header is logged): nothing to classify';
      }
      // dump_ipv6_packet stops before PROTO= for ESP (without --log-ip-options) and for a later fragment
      if (src.includes(':')) return 'no PROTO= field: the kernel logs an IPv6 ESP packet (without --log-ip-options) or a later fragment so: nothing to classify';
      return 'no PROTO= field: nothing to classify';
    case 'arp':
      return 'ARP packet: not an IP flow';
    case 'fragment':
      return `non-first fragment (offset ${e.frag}) carries no ports: cannot tell which connection it belongs to`;
    case 'no-ports':
      return `${e.proto ?? 'packet'} without ports (truncated or malformed): cannot classify`;
    case 'port-zero':
      return `${e.proto} with port 0 (${endpoint(src, e.spt, undefined)} to ${e.dpt}): malformed or crafted, never a real connection`;
    case 'tcp-syn':
      return dSvc === NODEPORT
        ? `SYN from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (NodePort range ${ctx.nodePorts.from}-${ctx.nodePorts.to}): new connection to a NodePort service refused by the ruleset`
        : dSvc && ctx.services.loopbackOnly?.('tcp', e.dpt ?? 0) === true
          ? `SYN from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (${dSvc}): new connection refused by the ruleset — a service that listens on loopback only: never open it to other hosts; find out why ${src} connects to it`
          : dSvc
          ? `SYN from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (${dSvc}): new connection refused by the ruleset — the rule for a known service is missing`
          : `SYN from ${endpoint(src, e.spt, undefined)} to ${e.dpt}: new connection refused by the ruleset, to a port no known service uses`;
    case 'tcp-syn-ack':
      return `SYN ACK from ${endpoint(src, e.spt, sSvc)} to ${e.dpt}: reply to our own outbound SYN whose conntrack state was lost`;
    case 'tcp-crafted-flags':
      return `TCP flags ${ft} from ${endpoint(src, e.spt, undefined)} to ${portWithService(e.dpt, dSvc)}: no TCP stack sends this combination (crafted probe)`;
    case 'tcp-from-service':
      return `${ft} from ${endpoint(src, e.spt, sSvc)} to ${e.dpt}: ${tcpStory(j.flags)}`;
    case 'tcp-to-service':
      // A port rule that ignores the state (the seeds' `-p tcp --dport 9345 -j ACCEPT`) lets such a packet through
      // whatever conntrack knows: logged, it says the port's rule is missing (as the seed's "unrecognized DPT" does)
      return `${ft} from ${endpoint(src, e.spt, undefined)} to ${portWithService(e.dpt, dSvc)}: mid-connection packet to a service (not SYN), ${tcpStory(j.flags)}${dSvc !== undefined && dSvc !== NODEPORT && ctx.services.loopbackOnly?.('tcp', e.dpt ?? 0) !== true ? ` — a rule accepting ${e.dpt} whatever the connection's state (as the seeds' port rules do) would have let it through: check that this node has one` : ''}`;
    case 'tcp-both-services':
      return `${ft} from ${endpoint(src, e.spt, undefined)} to ${e.dpt}: both ports look like services, taking ${j.server === 'src' ? e.spt : e.dpt} as the server; not SYN: ${tcpStory(j.flags)}`;
    case 'tcp-from-low-range':
      return `${ft} from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (in the ephemeral range ${eph}): no known service, but not SYN and the destination looks like a client port — likely ${tcpStory(j.flags)}`;
    case 'tcp-to-low-range':
      return `${ft} from ${endpoint(src, e.spt, undefined)} (in the ephemeral range ${eph}) to ${e.dpt}: no known service, but not SYN and the source looks like a client port — likely ${tcpStory(j.flags)}`;
    case 'tcp-ambiguous-ports':
      return `${ft} from ${endpoint(src, e.spt, undefined)} to ${e.dpt}: not SYN, but neither port is a known service and both are ${inRange(e.spt ?? 0, ctx.ephemeral) ? `in the ephemeral range ${eph}` : `outside the ephemeral range ${eph}`}: cannot tell which side is the server`;
    case 'udp-to-service':
      return dSvc === NODEPORT
        ? `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (NodePort range ${ctx.nodePorts.from}-${ctx.nodePorts.to}): datagram to a NodePort service refused by the ruleset`
        : ctx.services.loopbackOnly?.(j.proto, e.dpt ?? 0) === true
          ? `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (${dSvc}): datagram refused by the ruleset — a service that listens on loopback only: never open it to other hosts; find out why ${src} sends to it`
          : `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (${dSvc}): datagram to a known service refused by the ruleset — the rule is missing`;
    case 'udp-from-service':
      return `${udpName} from ${endpoint(src, e.spt, sSvc)} to ${e.dpt}${(e.dpt ?? 0) < 1024 ? ' (a reserved port, as RPC clients bind)' : ''}: reply to our own request whose conntrack state was lost (or expired)`;
    case 'udp-reply-to-named-port':
      return `${udpName} from ${endpoint(src, e.spt, sSvc)} to ${e.dpt}: reply to our own request whose conntrack state was lost (or expired) — a catalog names ${e.dpt} too (${ctx.services(j.proto, e.dpt ?? 0) ?? '?'}), but it lies in the ephemeral range ${eph} client ports are picked from, and a datagram from a privileged port is a server's answer`;
    case 'udp-reply-or-nodeport':
      return `${udpName} from ${endpoint(src, e.spt, sSvc)} to ${e.dpt}: in the NodePort range ${ctx.nodePorts.from}-${ctx.nodePorts.to} and in the ephemeral range ${eph} given for this node, from a privileged port — the answer to our own request whose conntrack state was lost, or a datagram to a NodePort service: cannot tell. Reserve the NodePort range from client ports (sysctl net.ipv4.ip_local_reserved_ports=${ctx.nodePorts.from}-${ctx.nodePorts.to}, as Kubernetes advises) so the two cannot meet`;
    case 'udp-same-port':
      return `${udpName} from ${endpoint(src, e.spt, undefined)} to ${portWithService(e.dpt, dSvc)}: the same privileged port on both ends, so a request and its answer look alike — if this host serves ${dSvc ?? 'it'}, the rule is missing; if it only asks, this is the answer to its own request, whose conntrack state was lost`;
    case 'udp-from-low-range':
      return `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt} (in the ephemeral range ${eph}): no known service, but the destination looks like our client port — likely a reply whose conntrack state was lost`;
    case 'udp-to-port':
      return `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt}: datagram refused by the ruleset, to a port no known service uses`;
    case 'udp-ambiguous-ports':
      return `${udpName} from ${endpoint(src, e.spt, undefined)} to ${e.dpt}: neither port is a known service and both are in the ephemeral range ${eph}: cannot tell request from reply`;
    case 'icmp-echo-request':
      return `${j.service} request from ${src} to ${dst}: ping refused by the ruleset (most rulesets allow ICMP)`;
    case 'icmp-echo-reply':
      return `${j.service} reply from ${src} to ${dst}: answer to our own ping whose conntrack state was lost`;
    case 'icmp-error-own':
    case 'icmp-error-foreign':
    case 'icmp-error-no-inner': {
      const t = e.icmp?.type ?? -1;
      const v6 = j.proto === 'icmpv6';
      const name = (v6 ? ICMP6_ERROR_NAMES[t] : ICMP_ERROR_NAMES[t]) ?? `type ${t}`;
      const what = `${v6 ? 'ICMPv6' : 'ICMP'} ${name} (code ${e.icmp?.code ?? '?'}) from ${src}`;
      const inner = e.icmp?.inner;
      const about = inner ? ` about ${inner.proto ?? 'a packet'} ${endpoint(inner.srcShort ?? inner.src, inner.spt, undefined)} → ${endpoint(inner.dstShort ?? inner.dst, inner.dpt, undefined)}` : '';
      const pmtu = (!v6 && t === 3 && e.icmp?.code === 4) || (v6 && t === 2) ? ' — dropping it breaks path MTU discovery' : '';
      if (j.rule === 'icmp-error-own') return `${what}${about}: ICMP error about our own packet, its RELATED conntrack state was lost${pmtu}`;
      if (j.rule === 'icmp-error-foreign') return `${what}${about}: the quoted packet is not from ${dst}, so this is not about our own traffic`;
      return `${what}: the quoted packet is missing or truncated, cannot tell whose traffic it is about`;
    }
    case 'icmp-neighbour-discovery':
      return `${j.service} (type ${e.icmp?.type}) from ${src} refused: IPv6 does not work without it`;
    case 'icmp-other':
      return `${j.service} from ${src} to ${dst} refused by the ruleset`;
    case 'ip-protocol':
      return `protocol ${e.proto}${j.service ? ` (${j.service})` : ''} from ${src} to ${dst} refused by the ruleset`;
    case 'link-broadcast':
    case 'link-multicast': {
      const kind = j.rule === 'link-broadcast' ? 'broadcast' : 'multicast';
      const named = j.service ? ` (${j.service})` : '';
      const udp = j.proto === 'udp' || j.proto === 'udplite';
      const what = udp
        ? `${udpName} ${kind} from ${endpoint(src, e.spt, undefined)} to ${endpoint(dst, e.dpt, undefined)}${named}`
        : j.proto === 'icmp'
          ? `ICMP ${kind} (type ${e.icmp?.type ?? '?'}${j.service ? `, ${j.service}` : ''}) from ${src} to ${dst}`
          : `protocol ${e.proto ?? '?'}${named} ${kind} from ${src} to ${dst}`;
      const unnamed = udp ? `no catalog names ${j.proto}/${e.dpt} as a service a node offers` : 'not a service a node offers';
      return `${what}: sent to every host on the LAN segment, not a connection to this node, and ${unnamed} — chatter the LOG rule records, harmless to drop and never a reason to open a port`;
    }
  }
}

/** A judgement with its reason, for callers that want one packet judged in one call (tests, tools). */
export interface PacketVerdict {
  verdict: Verdict;
  rule: RuleId;
  reason: string;
  service: string | undefined;
  server: ServerSide;
}

export function classifyPacket(e: DropEvent, ctx: VerdictContext): PacketVerdict {
  const j = judge(e, ctx, emptyJudgement());
  return { verdict: j.verdict, rule: j.rule, reason: explain(e, j, ctx), service: j.service, server: j.server };
}
