/**
 * One model for both ruleset formats fwdiag reads (iptables-save text and `nft -j list ruleset` JSON): tables of
 * chains of rules, each rule a list of the matches fwdiag understands plus at most one log action and one verdict.
 * Matches fwdiag cannot evaluate are kept as `unknown` with their text, never dropped.
 */

export type TableFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/** An inclusive port range. */
export interface Range {
  from: number;
  to: number;
}

export type Match =
  | { kind: 'iif' | 'oif'; names: string[]; neg: boolean }
  /** addresses: each a CIDR, a bare address, or (nft) an inclusive range `198.18.0.10-198.18.0.20` */
  | { kind: 'saddr' | 'daddr'; cidrs: string[]; neg: boolean }
  /** protocol names as fwdiag normalises them: tcp, udp, icmp, icmpv6, sctp, esp, ah, gre, ipip, or a number */
  | { kind: 'proto'; protos: string[]; neg: boolean }
  /**
   * `th`: nft's raw transport header (`th dport 53`), bytes 2-3 / 0-1 of whatever protocol the packet carries — no
   * protocol implied (ICMP's checksum / type and code, ESP's SPI, AH's reserved field and header lengths)
   */
  | { kind: 'dport' | 'sport'; ranges: Range[]; neg: boolean; th?: true }
  /** multiport `--ports`: source or destination port */
  | { kind: 'anyport'; ranges: Range[]; neg: boolean }
  /** conntrack states, lower case: new, established, related, invalid, untracked */
  | { kind: 'ctstate'; states: string[]; neg: boolean }
  /**
   * TCP flags (the LOG line's words: FIN SYN RST PSH ACK URG ECE CWR): the packet's flags within `mask` must equal
   * `comp` (iptables `--tcp-flags`, nft `tcp flags syn / fin,syn,rst,ack`, `tcp flags == syn`); `any`: at least one
   * flag of `mask` must be set instead (nft `tcp flags syn,ack`; `tcp flags ! fin,rst` is its negation)
   */
  | { kind: 'tcpflags'; mask: string[]; comp: string[]; neg: boolean; any?: true }
  /** ICMP or ICMPv6 types (each family's own numbers); `code`: that code only (iptables `--icmp-type 3/4`) */
  | { kind: 'icmptype'; types: number[]; code?: number; neg: boolean }
  /**
   * nft `ip6 nexthdr`: the IPv6 header's next-header field — the transport protocol only when no extension header
   * comes first, which a log line does not show (MLD messages always follow a hop-by-hop header)
   */
  | { kind: 'nexthdr'; protos: string[]; neg: boolean }
  /** nft `meta nfproto ipv4|ipv6` */
  | { kind: 'nfproto'; family: 4 | 6; neg: boolean }
  /** a rate limit; `over` (nft `limit rate over`): matches only once the rate is exceeded */
  | { kind: 'limit'; rate: string; burst?: number; over?: boolean }
  /** nft `quota [over] N unit`: matches until the quota is used up, or (`over`) only after */
  | { kind: 'quota'; text: string; over: boolean }
  /**
   * nft set lookup that no single match above holds: a concatenation (`ip saddr . tcp dport { 198.18.0.2 . 22 }`,
   * `iifname . tcp dport @allowed`) or several TCP flag values (`tcp flags { syn, syn | ack }`). Matches when the
   * packet meets every match of one element; `text` is the key and the set as nft writes them. The key's implied
   * protocols (`tcp dport`: TCP) are matches of the rule beside it, never negated with it.
   */
  | { kind: 'anyof'; text: string; elements: SetElement[]; neg: boolean }
  /** anything else, kept verbatim: evaluated as "unknown" */
  | { kind: 'unknown'; text: string };

/** One element of an `anyof` set: its value as nft writes it, and the matches it stands for. */
export interface SetElement {
  text: string;
  matches: Match[];
}

export type Verdict =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'reject'; with?: string }
  | { kind: 'return' }
  | { kind: 'jump'; target: string }
  | { kind: 'goto'; target: string }
  /** no verdict: the rule only logs/counts, or its target does not end the chain (MARK, CT, …) */
  | { kind: 'continue'; target?: string }
  /** a target that ends traversal but is none of the above (NFQUEUE, DNAT, …) */
  | { kind: 'other'; target: string }
  /**
   * nft verdict map (`tcp dport vmap { 22 : accept, 10250 : jump kubelet }`): the first entry whose matches the
   * packet meets gives the verdict; none: the rule goes on to the next (`continue`)
   */
  | { kind: 'vmap'; entries: VmapEntry[] };

/** One element of a verdict map: the key's value as matches (a port, a protocol, an interface …) and its verdict. */
export interface VmapEntry {
  matches: Match[];
  verdict: Exclude<Verdict, { kind: 'vmap' }>;
}

export interface LogAction {
  /** undefined when the ruleset does not show it (iptables-nft `xt` targets in nft JSON) */
  prefix?: string;
  level?: string;
}

export interface Rule {
  /** 1-based position in its chain */
  index: number;
  /** the rule as the ruleset shows it (`-A …` line, or nft syntax rebuilt from JSON) */
  text: string;
  /** nft rule handle */
  handle?: number;
  matches: Match[];
  log?: LogAction;
  verdict: Verdict;
  comment?: string;
}

export interface Chain {
  name: string;
  /** base chains only */
  hook?: Hook;
  priority?: number;
  /** nft chain type: filter, nat, route */
  type?: string;
  /** base chains only; absent = accept */
  policy?: 'accept' | 'drop';
  rules: Rule[];
}

export interface Table {
  family: TableFamily;
  name: string;
  chains: Chain[];
  /**
   * A native nftables table (read from nft JSON, no iptables-nft `xt` expression in it, and not shaped like one of
   * iptables' tables: `ip filter` with base chains `INPUT`, `FORWARD`, `OUTPUT`): rules for it are nft commands.
   * Absent for tables iptables manages (iptables-save text, or nft JSON of iptables-nft's tables), whose rules are
   * iptables commands: a native rule put into them could make iptables call the table incompatible.
   */
  native?: true;
}

export interface Ruleset {
  format: 'iptables-save' | 'nft-json';
  tables: Table[];
  /** things the parser skipped or could not model, as one-line messages */
  warnings: string[];
}

/** Identifies one rule in a ruleset. */
export interface RuleRef {
  family: TableFamily;
  table: string;
  chain: string;
  index: number;
  text: string;
}
