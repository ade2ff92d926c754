import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/parse/parse-line.js';
import { createFlowCollector, MAX_SAMPLED_FLOWS } from '../../src/suggest/index.js';
import { NOW, synLine } from './helpers.js';

/** An ACK from the kubelet port to a client's ephemeral port: a packet of a connection whose state was lost. */
function ackLine(time: string, client: string, cport: number): string {
  return `Apr 22 ${time} node1 kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=198.18.0.1 DST=${client} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=10250 DPT=${cport} WINDOW=501 RES=0x00 ACK URGP=0 `;
}

describe('the flow collector', () => {
  it(`samples the first ${MAX_SAMPLED_FLOWS} flows and counts the listed flows beyond them once each`, () => {
    const parser = createParser({ tz: 'UTC', now: () => NOW });
    const c = createFlowCollector({ samplesPerFlow: 2 });
    const flows = MAX_SAMPLED_FLOWS + 3;
    // one refused SYN flow per client (one port each: no client is a scanner), three packets each
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < flows; i++) {
        const l = synLine({ time: `10:00:0${round}`, src: `198.18.${(i >> 8) & 255}.${i & 255}`, dst: '198.19.0.1', spt: 40000 + round, dpt: 10250 });
        c.add(parser.parseLine(l), l);
      }
    }
    const { flows: out } = c.end();
    expect(out).toHaveLength(flows);
    const sampled = out.filter((f) => f.samples !== undefined);
    expect(sampled).toHaveLength(MAX_SAMPLED_FLOWS);
    for (const f of sampled) {
      expect(f.samples).toHaveLength(2);
      expect(f.samples![0]).toContain(`SRC=${f.client} `);
      expect(f.event?.src).toBe(f.client);
    }
    // three flows, not their nine packets
    expect(c.unsampled).toBe(3);
    // end() again does not count them twice
    c.end();
    expect(c.unsampled).toBe(3);
  });

  it('a flow that expired and came back adds to the samples of its first life', () => {
    const parser = createParser({ tz: 'UTC', now: () => NOW });
    const c = createFlowCollector({ samplesPerFlow: 3, classifier: { flowIdleMs: 60_000 } });
    const lines = [
      ackLine('10:00:00', '198.18.0.7', 50001),
      ackLine('10:00:01', '198.18.0.7', 50002),
      // other flows, five minutes on: the first (lost-state noise, idle) is expired at the next sweep (one per
      // 4096 new flows)
      ...Array.from({ length: 4200 }, (_, i) => ackLine('10:05:00', `198.18.${1 + (i >> 8)}.${i & 255}`, 50000)),
      ackLine('10:06:00', '198.18.0.7', 50003),
      ackLine('10:06:01', '198.18.0.7', 50004),
    ];
    for (const l of lines) c.add(parser.parseLine(l), l);
    const { flows, summary } = c.end();
    const f = flows.find((x) => x.client === '198.18.0.7');
    expect(f?.verdict).toBe('conntrack-loss');
    // the table let go of the first flow object and made a new one for the same key
    expect(summary.flowsExpired).toBeGreaterThan(0);
    expect(f?.count).toBe(2);
    expect(f?.samples?.map((l) => /DPT=(\d+)/.exec(l)?.[1])).toEqual(['50001', '50002', '50003']);
    expect(f?.event?.dpt).toBe(50001);
  });
});
