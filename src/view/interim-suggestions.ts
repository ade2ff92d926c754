/**
 * The live view's suggestions when the suggestion engine (src/suggest/) cannot run: without `--platform` and `--role`
 * there is no catalog to scope a rule by. One suggestion per (protocol, server port) of the genuine-block flows seen,
 * with their clients as sources and the reason of the busiest flow (its `flow`: the details pane asks for it) — the
 * README's "otherwise one per blocked protocol/port with the observed clients". Nothing clever (no CIDR folding, no
 * catalog scope): with `--platform` and `--role` the store takes the engine's list instead (`store.setSuggestions`).
 * Refused ICMPv6 neighbour discovery needs no catalog: one suggestion for it, the rule every compiled policy has
 * (the engine's too: suggest's kind `neighbour-discovery`).
 */
import type { Observation } from '../classify/classifier.js';
import type { Flow } from '../classify/flows.js';
import { ICMPV6_LINK_SERVICE, ICMPV6_LINK_TYPES } from '../compile/policy.js';
import type { ViewSuggestion } from './store.js';

/** (proto, port) groups held; beyond it new groups are not tracked (counted in `dropped`). */
const MAX_GROUPS = 500;
/** flows per group (the fragment schema allows 256 sources per rule) */
const MAX_FLOWS_PER_GROUP = 256;
/** protocols a policy fragment can open by port */
const PORT_PROTOS = new Set(['tcp', 'udp', 'sctp']);

interface Group {
  proto: string;
  /** null: the neighbour-discovery group */
  port: number | null;
  flows: Set<Flow>;
}

/** The key of the neighbour-discovery group (the others are `proto/port`). */
const ND_KEY = 'icmpv6/nd';

export class InterimSuggestions {
  private readonly groups = new Map<string, Group>();
  private changed = false;
  /** groups or flows not tracked because a cap was reached */
  dropped = 0;

  /** Looks at one classified packet: a flow that is (or just became) a genuine block joins its group. */
  observe(r: Pick<Observation, 'changes'>): void {
    if (r.changes === undefined) return;
    for (const c of r.changes) {
      const f = c.flow;
      // a flow leaving genuine-block (re-labelled as part of a scan) must leave the list: mark for recompute
      if (c.kind === 'verdict' && c.from === 'genuine-block') this.changed = true;
      if (f.verdict !== 'genuine-block') continue;
      const nd = f.rule === 'icmp-neighbour-discovery';
      if (!nd && (f.serverPort === null || !PORT_PROTOS.has(f.proto))) continue;
      const key = nd ? ND_KEY : `${f.proto}/${f.serverPort}`;
      let g = this.groups.get(key);
      if (g === undefined) {
        if (this.groups.size >= MAX_GROUPS) {
          this.dropped++;
          continue;
        }
        g = { proto: f.proto, port: nd ? null : f.serverPort, flows: new Set() };
        this.groups.set(key, g);
      }
      if (g.flows.has(f)) continue;
      if (g.flows.size >= MAX_FLOWS_PER_GROUP) {
        this.dropped++;
        continue;
      }
      g.flows.add(f);
      this.changed = true;
    }
  }

  /** True once since the last `list()` when the list may differ. Counts changing do not matter here. */
  get dirty(): boolean {
    return this.changed;
  }

  list(): ViewSuggestion[] {
    this.changed = false;
    const out: { s: ViewSuggestion; packets: number }[] = [];
    for (const g of this.groups.values()) {
      const sources = new Set<string>();
      let busiest: Flow | undefined;
      let packets = 0;
      for (const f of g.flows) {
        if (f.verdict !== 'genuine-block') continue;
        sources.add(f.client);
        packets += f.count;
        if (busiest === undefined || f.count > busiest.count) busiest = f;
      }
      if (busiest === undefined) continue;
      if (g.port === null) {
        // compile's rule: any source (link-local addresses, :: during duplicate address detection), IPv6 only
        const types = [...ICMPV6_LINK_TYPES];
        out.push({
          s: {
            proto: 'icmpv6', ports: [], sources: [], family: 6, icmpTypes: types, service: ICMPV6_LINK_SERVICE, reason: busiest.reason, flow: busiest,
            rendered: `allow icmpv6 type ${types.join(',')} (${ICMPV6_LINK_SERVICE}) from anywhere`,
          },
          packets,
        });
        continue;
      }
      const src = [...sources].sort();
      const s: ViewSuggestion = {
        proto: g.proto,
        ports: [g.port],
        sources: src,
        reason: busiest.reason,
        flow: busiest,
        rendered: renderSuggestion(g.proto, g.port, busiest.service, src),
      };
      if (busiest.service !== undefined) s.service = busiest.service;
      out.push({ s, packets });
    }
    out.sort((a, b) => b.packets - a.packets || a.s.rendered.localeCompare(b.s.rendered));
    return out.map((x) => x.s);
  }
}

function renderSuggestion(proto: string, port: number, service: string | undefined, sources: string[]): string {
  const from = sources.length <= 3 ? sources.join(', ') : `${sources.slice(0, 3).join(', ')} +${sources.length - 3} more`;
  return `allow ${proto}/${port}${service !== undefined ? ` (${service})` : ''} from ${from}`;
}
