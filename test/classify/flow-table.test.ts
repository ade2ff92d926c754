import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowTable, IntMap, PortBitmaps, PortSet, StringIds, flowKey, ipv4Bits } from '../../src/classify/flows.js';
import type { Verdict } from '../../src/classify/verdict.js';

describe('IntMap', () => {
  it('answers like a Map through any sequence of sets and deletes (property)', () => {
    // mostly a small key range, so the table runs near half full: collisions, long probe runs, wrap-around and
    // backward shifts on delete; now and then any int32
    const key = fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: -40, max: 40 }) },
      { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
    );
    const op = fc.tuple(fc.boolean(), key, fc.integer({ min: 1, max: 1000 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const m = new IntMap();
        const ref = new Map<number, number>();
        for (const [set, k, v] of ops) {
          if (set) {
            m.set(k, v);
            ref.set(k, v);
          } else {
            expect(m.delete(k)).toBe(ref.delete(k));
          }
          expect(m.size).toBe(ref.size);
          for (let x = -41; x <= 41; x++) expect(m.get(x)).toBe(ref.get(x) ?? 0);
        }
        for (const [k, v] of ref) expect(m.get(k)).toBe(v);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every key reachable while a full run of colliding keys is deleted in any order (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 31 }), fc.integer(), (keys, seed) => {
        const m = new IntMap();
        keys.forEach((k, i) => m.set(k, i + 1));
        const order = [...keys].sort((a, b) => ((Math.imul(a ^ seed, 0x9e3779b1) >>> 0) - (Math.imul(b ^ seed, 0x9e3779b1) >>> 0)));
        const left = new Map(keys.map((k, i) => [k, i + 1]));
        for (const k of order) {
          expect(m.delete(k)).toBe(true);
          left.delete(k);
          for (const [x, v] of left) expect(m.get(x)).toBe(v);
          expect(m.get(k)).toBe(0);
        }
        expect(m.size).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('PortSet', () => {
  it('holds what a Set holds, through the switch from list to bitmap (property)', () => {
    const port = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 65535 }));
    fc.assert(
      fc.property(fc.array(port, { maxLength: 700 }), (ports) => {
        const p = new PortSet();
        const ref = new Set<number>();
        for (const x of ports) {
          p.add(x);
          ref.add(x);
          expect(p.size).toBe(ref.size);
        }
        for (const x of [0, 1, 31, 32, 63, 64, 100, 65535, ...ports]) expect(p.has(x)).toBe(ref.has(x));
      }),
      { numRuns: 300 },
    );
  });

  it('takes bitmaps from a bounded pool: past it, a set stays a list of 256 and says its count is a lower bound', () => {
    const pool = new PortBitmaps(2);
    const sets = [new PortSet(), new PortSet(), new PortSet()];
    for (const p of sets) for (let x = 0; x < 300; x++) p.add(1000 + x, pool);
    expect(sets.map((p) => [p.size, p.saturated])).toEqual([[300, false], [300, false], [256, true]]);
    expect(pool.used).toBe(2);
    // sets of up to 256 ports never take one
    const small = new PortSet();
    for (let x = 0; x < 256; x++) small.add(x, pool);
    expect([small.size, small.saturated, pool.used]).toEqual([256, false, 2]);
    // a set whose flow left gives its bitmap back, and the next set may count on
    sets[0]!.release(pool);
    expect(pool.used).toBe(1);
    const next = new PortSet();
    for (let x = 0; x < 300; x++) next.add(x, pool);
    expect([next.size, next.saturated, pool.used]).toEqual([300, false, 2]);
  });

  it('counts every port once, all 65536 of them', () => {
    const p = new PortSet();
    for (let r = 0; r < 2; r++) for (let x = 65535; x >= 0; x--) p.add(x);
    expect(p.size).toBe(65536);
  });
});

describe('ipv4Bits', () => {
  it('reads every canonical dotted quad as its 32 bits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const s = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        expect(ipv4Bits(s)).toBe(n);
      }),
    );
  });

  it('refuses every other spelling, so two strings never share a number', () => {
    for (const s of [
      '', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '00.0.0.0', '256.1.1.1', '1.2.3.256', '1..3.4', '.1.2.3',
      '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4x', '1.2.3.-4', '+1.2.3.4', '1.2.3.4\n', '1000.2.3.4', '2001:db8::1',
      '::ffff:1.2.3.4', '1.2.3.4444', '?',
    ]) {
      expect(ipv4Bits(s), s).toBe(-1);
    }
    expect(ipv4Bits('0.0.0.0')).toBe(0);
    expect(ipv4Bits('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(ipv4Bits('10.0.0.1')).toBe(0x0a000001);
  });
});

describe('StringIds', () => {
  const strings = ['192.168.122.61', '192.168.122.62', '10.0.0.1', '255.255.255.255', '0.0.0.0', 'harvester1', 'worker-a', '2001:db8::1', 'tcp', 'esp', '47', '01.2.3.4'];

  it('gives each held string one id, freed with its last holder and then reusable (property)', () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: strings.length - 1 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ids = new StringIds(['tcp']);
        const held = new Map<string, { id: number; refs: number }>();
        for (const [add, i] of ops) {
          // fresh string objects, as a parser hands out
          const s = (' ' + strings[i]!).slice(1);
          const h = held.get(s);
          if (add) {
            const id = ids.acquire(s);
            if (h !== undefined) {
              expect(id).toBe(h.id);
              h.refs++;
            } else {
              expect([...held.values()].some((x) => x.id === id)).toBe(false);
              held.set(s, { id, refs: 1 });
            }
            expect(ids.text(id)).toBe(s);
          } else if (h !== undefined) {
            ids.release(h.id);
            if (--h.refs === 0) held.delete(s);
          }
          for (const [k, t] of strings.entries()) {
            const want = t === 'tcp' ? 1 : held.get(t)?.id ?? -1;
            expect(ids.idOf(t)).toBe(want);
            expect(ids.hostIdOf(t)).toBe(want);
            // a key stands for one text: by its own slot, and by keys that all share one slot (4096 apart)
            expect(ids.idOfKey(k, t)).toBe(want);
            expect(ids.idOfKey(1_000_000 * 4096 + k * 4096 + 7, t)).toBe(want);
          }
          expect(ids.size).toBe(held.size + (held.has('tcp') ? 0 : 1));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps pinned strings as given and never frees them', () => {
    const tcp = 'tcp';
    const ids = new StringIds([tcp]);
    const id = ids.acquire(tcp);
    ids.acquire(tcp);
    ids.release(id);
    ids.release(id);
    expect(ids.idOf('tcp')).toBe(id);
    expect(ids.text(id)).toBe(tcp);
  });

  it('forgets a remembered key whose id was freed and handed to another string', () => {
    const ids = new StringIds();
    const id = ids.acquire('192.168.122.61');
    expect(ids.idOfKey(5, '192.168.122.61')).toBe(id);
    ids.release(id);
    expect(ids.acquire('192.168.122.62')).toBe(id);
    expect(ids.idOfKey(5, '192.168.122.61')).toBe(-1);
    expect(ids.idOfKey(6, '192.168.122.62')).toBe(id);
  });

  it('forgets a cached host whose id was freed and handed to another string', () => {
    const ids = new StringIds();
    const a = 'harvester1';
    const id = ids.acquire(a);
    expect(ids.hostIdOf(a)).toBe(id);
    ids.release(id);
    const b = ids.acquire('harvester2');
    expect(b).toBe(id);
    expect(ids.hostIdOf(a)).toBe(-1);
    expect(ids.hostIdOf('harvester2')).toBe(b);
  });
});

/**
 * The bounded Map of flows FlowTable replaces, kept here as the reference: same sweep, expiry and eviction rules,
 * over plain records.
 */
interface RefFlow {
  key: string;
  verdict: Verdict;
  persistent: boolean;
  lastSeen: number;
}

class RefTable {
  private readonly map = new Map<string, RefFlow>();
  private addsSinceSweep = 0;
  expired = 0;
  evicted = 0;
  readonly removed: string[] = [];
  constructor(private readonly opts: { maxFlows: number; idleMs: number }) {}
  get(key: string): RefFlow | undefined {
    return this.map.get(key);
  }
  get size(): number {
    return this.map.size;
  }
  add(flow: RefFlow, now: number): void {
    if (++this.addsSinceSweep >= 4096 && this.addsSinceSweep >= this.map.size >>> 2) {
      this.addsSinceSweep = 0;
      this.expire(now);
    }
    if (this.map.size >= this.opts.maxFlows) this.evict();
    this.map.set(flow.key, flow);
  }
  detach(f: RefFlow): void {
    if (this.map.get(f.key) === f) this.remove(f);
  }
  values(): RefFlow[] {
    return [...this.map.values()];
  }
  expire(now: number): void {
    const cutoff = now - this.opts.idleMs;
    for (const f of this.map.values()) {
      if (f.lastSeen < cutoff && refNoise(f)) {
        this.remove(f);
        this.expired++;
      }
    }
  }
  private evict(): void {
    let excess = this.map.size - Math.floor(this.opts.maxFlows * 0.8);
    for (const noiseOnly of [true, false]) {
      if (excess <= 0) break;
      let candidates = 0;
      for (const f of this.map.values()) if (!noiseOnly || refNoise(f)) candidates++;
      if (candidates === 0) continue;
      const want = Math.min(excess, candidates);
      const step = Math.max(1, Math.floor(candidates / 1024));
      const sample: number[] = [];
      let i = 0;
      for (const f of this.map.values()) {
        if (noiseOnly && !refNoise(f)) continue;
        if (i++ % step === 0) sample.push(f.lastSeen);
      }
      sample.sort((a, b) => a - b);
      const cutoff = sample[Math.min(sample.length - 1, Math.ceil((want / candidates) * sample.length))]!;
      for (const f of this.map.values()) {
        if (excess <= 0) break;
        if (f.lastSeen <= cutoff && (!noiseOnly || refNoise(f))) {
          this.remove(f);
          this.evicted++;
          excess--;
        }
      }
    }
  }
  private remove(f: RefFlow): void {
    this.map.delete(f.key);
    this.removed.push(f.key);
  }
}

function refNoise(f: RefFlow): boolean {
  return (f.verdict === 'conntrack-loss' || f.verdict === 'undetermined') && !f.persistent;
}

const HOSTS = [null, 'harvester1', 'harvester2', 'a-rather-long-host-name.example'];
const PROTOS = ['tcp', 'udp', 'icmp', 'esp', ''];
const ADDRS = ['192.168.122.61', '192.168.122.62', '10.0.0.1', '203.0.113.7', '2001:db8::1', 'fe80::1', '?'];
const PORTS = [null, 22, 6443, 0, 65535];
const VERDICTS: Verdict[] = ['conntrack-loss', 'genuine-block', 'scan', 'undetermined'];

type Key = [host: string | null, proto: string, server: string, port: number | null, client: string];

/** A random key; strings are fresh copies, as a parser would hand them out. */
const keyArb = fc
  .tuple(
    fc.integer({ min: 0, max: HOSTS.length - 1 }),
    fc.integer({ min: 0, max: PROTOS.length - 1 }),
    fc.integer({ min: 0, max: ADDRS.length - 1 }),
    fc.integer({ min: 0, max: PORTS.length - 1 }),
    fc.integer({ min: 0, max: ADDRS.length - 1 }),
  )
  .map(([h, p, s, n, c]): Key => {
    const fresh = (x: string) => (' ' + x).slice(1);
    const host = HOSTS[h]!;
    return [host === null ? null : fresh(host), fresh(PROTOS[p]!), fresh(ADDRS[s]!), PORTS[n]!, fresh(ADDRS[c]!)];
  });

type Op =
  | { kind: 'add'; key: Key; verdict: Verdict; dt: number }
  | { kind: 'touch'; key: Key; verdict: Verdict; persistent: boolean; dt: number }
  | { kind: 'detach'; key: Key }
  | { kind: 'expire'; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), key: keyArb, verdict: fc.constantFrom(...VERDICTS), dt: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('touch' as const), key: keyArb, verdict: fc.constantFrom(...VERDICTS), persistent: fc.boolean(), dt: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('detach' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), dt: fc.integer({ min: 0, max: 500 }) }) },
);

/** Runs the ops on a FlowTable and the reference side by side; every step must agree. */
function compare(ops: Op[], maxFlows: number, idleMs: number): void {
  const table = new FlowTable({ maxFlows, idleMs });
  const ref = new RefTable({ maxFlows, idleMs });
  const removed: string[] = [];
  table.onRemove = (f) => {
    expect(f.gone).toBe(true);
    removed.push(flowKey(f.host, f.proto, f.server, f.serverPort, f.client));
  };
  const keys = new Map<string, Key>();
  let now = 0;
  for (const op of ops) {
    if (op.kind === 'expire') {
      now += op.dt;
      table.expire(now);
      ref.expire(now);
    } else {
      const k = flowKey(...op.key);
      const f = table.find(...op.key);
      const r = ref.get(k);
      expect(f === undefined).toBe(r === undefined);
      if (op.kind === 'add' && f === undefined) {
        now += op.dt;
        const g = table.create(...op.key, now);
        g.verdict = op.verdict;
        g.lastSeen = now;
        expect(g.key).toBe(k);
        expect([g.host, g.proto, g.server, g.serverPort, g.client]).toEqual(op.key);
        expect(table.find(...op.key)).toBe(g);
        keys.set(k, op.key);
        ref.add({ key: k, verdict: op.verdict, persistent: false, lastSeen: now }, now);
      } else if (op.kind === 'touch' && f !== undefined && r !== undefined) {
        now += op.dt;
        f.verdict = r.verdict = op.verdict;
        f.persistent = r.persistent = op.persistent;
        f.lastSeen = r.lastSeen = now;
      } else if (op.kind === 'detach' && f !== undefined && r !== undefined) {
        table.detach(f);
        ref.detach(r);
        expect(f.gone).toBe(true);
        // a second detach of a gone flow changes nothing
        table.detach(f);
      }
    }
    expect(table.size).toBe(ref.size);
    expect(table.expired).toBe(ref.expired);
    expect(table.evicted).toBe(ref.evicted);
  }
  expect(removed).toEqual(ref.removed);
  expect(table.flows().map((f) => f.key)).toEqual(ref.values().map((f) => f.key));
  for (const r of ref.values()) expect(table.find(...keys.get(r.key)!)?.key).toBe(r.key);
  // every flow gone: every string it held is freed (only the pinned protocol names stay)
  for (const f of table.flows()) table.detach(f);
  expect(table.size).toBe(0);
  expect(table.ids.size).toBe(6);
}

describe('FlowTable', () => {
  it('finds, adds, detaches, expires and evicts exactly as the Map it replaces (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), fc.integer({ min: 16, max: 60 }), fc.integer({ min: 1, max: 400 }), (ops, maxFlows, idleMs) => {
        compare(ops, maxFlows, idleMs);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees over long runs that grow the table and trigger the periodic idle sweep', () => {
    // 12,000 adds of distinct keys: the sweep runs every 4,096 adds; a cap of 5,000 evicts in rounds
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        let x = seed | 0;
        const rnd = (n: number) => {
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          return ((x >>> 8) & 0xffffff) % n;
        };
        const ops: Op[] = [];
        for (let i = 0; i < 12_000; i++) {
          const key: Key = [HOSTS[rnd(HOSTS.length)]!, PROTOS[rnd(2)]!, `10.${rnd(4)}.${rnd(256)}.${rnd(256)}`, PORTS[rnd(PORTS.length)]!, ADDRS[rnd(ADDRS.length)]!];
          const r = rnd(10);
          if (r < 7) ops.push({ kind: 'add', key, verdict: VERDICTS[rnd(4)]!, dt: rnd(3) });
          else if (r < 9) ops.push({ kind: 'touch', key, verdict: VERDICTS[rnd(4)]!, persistent: rnd(8) === 0, dt: rnd(3) });
          else ops.push({ kind: 'detach', key });
        }
        compare(ops, 5_000, 2_000);
      }),
      { numRuns: 4 },
    );
  });

  it('gives the pinned protocol names the ids the lookup switch assumes', () => {
    const table = new FlowTable({ maxFlows: 100, idleMs: 1000 });
    const want: Record<string, number> = { '': 1, tcp: 2, udp: 3, udplite: 4, icmp: 5, icmpv6: 6 };
    for (const [p, id] of Object.entries(want)) {
      expect(table.ids.idOf(p)).toBe(id);
      const f = table.create('h', p, '10.0.0.1', 1, '10.0.0.2', 0);
      expect(f.protoId).toBe(id);
      expect(table.find('h', p, '10.0.0.1', 1, '10.0.0.2')).toBe(f);
    }
  });

  it('hands out shared copies of the key strings and keeps the key text', () => {
    const table = new FlowTable({ maxFlows: 100, idleMs: 1000 });
    const line = 'harvester1 kernel: SRC=192.168.122.61 DST=192.168.122.62';
    const host = line.slice(0, 10);
    const a = table.create(host, 'tcp', line.slice(42), 6443, line.slice(23, 37), 0);
    const b = table.create(host, 'udp', line.slice(42), 53, line.slice(23, 37), 0);
    expect(a.server).toBe('192.168.122.62');
    expect(a.client).toBe('192.168.122.61');
    expect(a.proto).toBe('tcp');
    expect(a.key).toBe('harvester1|tcp|192.168.122.62|6443|192.168.122.61');
    expect(b.key).toBe('harvester1|udp|192.168.122.62|53|192.168.122.61');
    expect(a.serverId).toBe(b.serverId);
    expect(a.hostId).toBe(b.hostId);
    const none = table.create(null, 'esp', '10.0.0.1', null, '10.0.0.2', 0);
    expect(none.hostId).toBe(0);
    expect(none.key).toBe('|esp|10.0.0.1||10.0.0.2');
    expect(table.find(null, 'esp', '10.0.0.1', null, '10.0.0.2')).toBe(none);
    expect(table.find('harvester1', 'esp', '10.0.0.1', null, '10.0.0.2')).toBeUndefined();
    expect(table.find(null, 'esp', '10.0.0.1', 0, '10.0.0.2')).toBeUndefined();
  });
});
