import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSummaryOf } from './helpers.js';

// Lines a real kernel wrote (fixtures/kernel/classify/README.md: what each capture is and how lab.sh made it).
const DIR = 'fixtures/kernel/classify/captures';

type Row = [proto: string, server: string, serverPort: number | null, verdict: string, count: number];

// Every flow of every capture: its server side, its verdict and its packets.
const EXPECTED: Record<string, Row[]> = {
  cli4_known: [['tcp', '198.18.213.1', 443, 'conntrack-loss', 6]],
  cli4_unknown: [['tcp', '198.18.213.1', 8000, 'conntrack-loss', 6]],
  cli6_known: [['tcp', '2001:db8:213::1', 443, 'conntrack-loss', 4]],
  dns4: [['udp', '198.18.213.1', 53, 'conntrack-loss', 2]],
  dns4_31000: [['udp', '198.18.213.2', 31000, 'genuine-block', 2]],
  dns4_51820: [['udp', '198.18.213.1', 53, 'conntrack-loss', 2]],
  dns6: [['udp', '2001:db8:213::1', 53, 'conntrack-loss', 2]],
  dns6_51820: [['udp', '2001:db8:213::1', 53, 'conntrack-loss', 2]],
  echo4: [['icmp', '198.18.213.1', null, 'conntrack-loss', 1]],
  echo6: [['icmpv6', '2001:db8:213::1', null, 'conntrack-loss', 1]],
  fragneeded4: [['icmp', '198.18.213.1', null, 'conntrack-loss', 1]],
  icmp_unreach4: [['icmp', '198.18.213.1', null, 'conntrack-loss', 1]],
  icmp_unreach6: [['icmpv6', '2001:db8:213::1', null, 'conntrack-loss', 1]],
  invalid4_cli: [['tcp', '198.18.213.1', 443, 'conntrack-loss', 6]],
  invalid4_srv: [['tcp', '198.18.213.2', 2380, 'conntrack-loss', 4]],
  invalid4_synack: [['tcp', '198.18.213.1', 8000, 'conntrack-loss', 1]],
  keepalive6: [['tcp', '2001:db8:213::2', 2379, 'conntrack-loss', 3]],
  keepalive_cli4: [['tcp', '198.18.213.2', 2379, 'conntrack-loss', 3]],
  keepalive_srv4: [['tcp', '198.18.213.1', 6443, 'conntrack-loss', 3]],
  nft_cli6: [['tcp', '2001:db8:213::1', 9345, 'conntrack-loss', 6]],
  nft_dns6: [['udp', '2001:db8:213::1', 53, 'conntrack-loss', 2]],
  nft_srv4: [['tcp', '198.18.213.2', 9345, 'conntrack-loss', 6]],
  nft_srv6: [['tcp', '2001:db8:213::2', 2380, 'conntrack-loss', 1]],
  nft_syn4: [['tcp', '198.18.213.2', 9345, 'genuine-block', 2]],
  nft_syn6: [['tcp', '2001:db8:213::2', 2380, 'genuine-block', 2]],
  ntp4_123: [['udp', '198.18.213.2', 123, 'undetermined', 2]],
  ptb6: [['icmpv6', '2001:db8:213::1', null, 'conntrack-loss', 1]],
  rpc4_876: [['udp', '198.18.213.1', 111, 'conntrack-loss', 2]],
  srv4_accepted: [],
  srv4_known: [['tcp', '198.18.213.2', 9345, 'conntrack-loss', 6]],
  srv4_unknown: [['tcp', '198.18.213.2', 8000, 'conntrack-loss', 4]],
  srv6_known: [['tcp', '2001:db8:213::2', 9345, 'conntrack-loss', 6]],
  syn6: [['tcp', '2001:db8:213::2', 8001, 'genuine-block', 2]],
  syn_backoff4: [['tcp', '198.18.213.2', 8001, 'genuine-block', 7]],
  syn_backoff4_long: [['tcp', '198.18.213.2', 8002, 'genuine-block', 8]],
  syn_nodeport4: [['tcp', '198.18.213.2', 30080, 'genuine-block', 2]],
  synack4: [['tcp', '198.18.213.1', 8000, 'conntrack-loss', 1]],
  synack6: [['tcp', '2001:db8:213::1', 8000, 'conntrack-loss', 1]],
};

// The client's port looks more like a service than the server's (NodePort range, a catalogued port, below 1024):
// the port rules key these flows the other way round (README here). Only the verdict and the count are checked.
const VERDICT_ONLY: Record<string, [proto: string, verdict: string, count: number]> = {
  clinode31000: ['tcp', 'conntrack-loss', 6],
  clitalos50000: ['tcp', 'conntrack-loss', 6],
  snat_nodeport: ['tcp', 'conntrack-loss', 6],
  snat_low: ['tcp', 'conntrack-loss', 6],
  srvport_cli31000: ['tcp', 'conntrack-loss', 6],
  srvport_cli800: ['tcp', 'conntrack-loss', 6],
};

describe('the classifier on the kernel captures of fixtures/kernel/classify', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.kmsg')).sort();

  it('has an expectation for every capture, and every capture is there', () => {
    const names = files.map((f) => f.replace(/\.kmsg$/, ''));
    expect(names.sort()).toEqual([...Object.keys(EXPECTED), ...Object.keys(VERDICT_ONLY)].sort());
  });

  for (const file of files) {
    const name = file.replace(/\.kmsg$/, '');
    it(`${name}: every flow's verdict`, async () => {
      const s = await analyzeSummaryOf(join(DIR, file));
      const lines = readFileSync(join(DIR, file), 'utf8').split('\n').filter((l) => l.includes('HARVESTER_DROP_'));
      // every LOG line the kernel wrote is one packet of a flow
      expect(s.flows.reduce((n, f) => n + f.count, 0)).toBe(lines.length);
      const only = VERDICT_ONLY[name];
      if (only !== undefined) {
        expect(s.flows.map((f) => [f.proto, f.verdict, f.count])).toEqual([only]);
        return;
      }
      expect(s.flows.map((f) => [f.proto, f.server, f.serverPort, f.verdict, f.count])).toEqual(EXPECTED[name]);
    });
  }

  it('says why: the reply to a catalogued client port, the reserved client port, the same port, the timer, the missing port rule', async () => {
    const reason = async (name: string) => (await analyzeSummaryOf(join(DIR, `${name}.kmsg`))).flows[0]!.reason;
    expect(await reason('dns4_51820')).toContain('a catalog names 51820 too');
    expect(await reason('dns6_51820')).toMatch(/^UDP from \[2001:db8:213::1\]:53 /);
    expect(await reason('rpc4_876')).toContain('to 876 (a reserved port, as RPC clients bind): reply to our own request');
    expect(await reason('ntp4_123')).toContain('a request and its answer look alike');
    expect(await reason('srv4_known')).toContain('a rule accepting 9345 whatever the connection\'s state');
    const backoff = (await analyzeSummaryOf(join(DIR, 'syn_backoff4.kmsg'))).flows[0]!;
    expect(backoff).toMatchObject({ retransmits: 6, backoff: true });
    // 16 s of it: gaps of 1, 1, 1, 1, 1, 2, 4 s
    expect((await analyzeSummaryOf(join(DIR, 'syn_backoff4_long.kmsg'))).flows[0]).toMatchObject({ retransmits: 7, backoff: true });
    expect(backoff.reason).toContain("on TCP's retransmission timer");
  });

  it('counts the nf_ct_proto_6 INVALID lines as corroboration, never as drops', async () => {
    for (const name of ['invalid4_cli', 'invalid4_synack', 'invalid4_srv']) {
      const text = readFileSync(join(DIR, `${name}.kmsg`), 'utf8');
      expect(text).toContain('nf_ct_proto_6:');
      const s = await analyzeSummaryOf(join(DIR, `${name}.kmsg`));
      expect(s.flows.some((f) => (f.ctInvalid ?? 0) > 0)).toBe(true);
    }
  });
});
