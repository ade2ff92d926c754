// Deterministic synthetic corpus for `npm run bench`: netfilter LOG lines in every envelope fwdiag reads, mixed
// with ordinary kernel and syslog lines, from a seeded PRNG (same bytes on every run and machine).
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const CORPUS_VERSION = 4;

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS = ['harvester1', 'harvester2', 'harvester3', 'worker-a', 'worker-b'];
const SERVICE_PORTS = [6443, 9345, 10250, 2379, 2380, 8472, 4789, 9099, 9091, 22, 443, 80, 10256, 51820];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n) => String(n).padStart(2, '0');

// A realistic cluster: each logging host has one address; drops come from its peers (the other nodes, the gateway,
// a few pods' hosts) and, for 3% of lines, from random outside addresses (probes). Client ports are random, so flows
// (host, proto, server, port, client) number in the hundreds plus the outside sources, as on a real node.
const NODE_IP = { harvester1: 61, harvester2: 62, harvester3: 63, 'worker-a': 71, 'worker-b': 72 };
const PEERS = [61, 62, 63, 71, 72, 1, 80, 81, 82, 83];

/**
 * The clock the measurements read the corpus with: the day after it was written. Its syslog stamps carry no year,
 * and year inference takes the newest one not in the future; on the real date they would land in another year than
 * the stamps that carry one (ISO, journal), and the classifier would see time jump back and forth between them.
 */
export const CORPUS_NOW = Date.UTC(2024, 3, 23, 0, 0, 0);

export function makeLine(rnd, i) {
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const host = pick(HOSTS);
  const t0 = Date.UTC(2024, 3, 22, 10, 0, 0) + i * 7; // 7 ms apart: many lines share a second
  const d = new Date(t0);
  const outside = rnd() < 0.03;
  const b = NODE_IP[host];
  const a = outside ? 0 : pick(PEERS.filter((p) => p !== b));
  const src = outside ? `203.0.113.${1 + Math.floor(rnd() * 254)}` : `192.168.122.${a}`;
  const dst = `192.168.122.${b}`;
  const mac = `52:54:00:${pad2(b.toString(16))}:aa:01:52:54:00:${pad2(a.toString(16))}:bb:02:08:00`;
  const id = Math.floor(rnd() * 65536);
  const r = rnd();
  let l4;
  let ip6 = false;
  if (r < 0.62) {
    const svc = pick(SERVICE_PORTS);
    const eph = 32768 + Math.floor(rnd() * 28231);
    const fr = rnd();
    const flags = fr < 0.3 ? 'ACK' : fr < 0.5 ? 'ACK PSH' : fr < 0.62 ? 'ACK FIN' : fr < 0.72 ? 'ACK RST' : fr < 0.8 ? 'RST' : 'SYN';
    const [spt, dpt] = flags === 'SYN' ? [eph, svc] : [svc, eph];
    l4 = `PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=${Math.floor(rnd() * 65535)} RES=0x00 ${flags} URGP=0 `;
  } else if (r < 0.84) {
    const svc = pick([53, 123, 8472, 4789, 51820]);
    const eph = 1024 + Math.floor(rnd() * 64000);
    const len = 8 + Math.floor(rnd() * 1400);
    l4 = rnd() < 0.5 ? `PROTO=UDP SPT=${eph} DPT=${svc} LEN=${len} ` : `PROTO=UDP SPT=${svc} DPT=${eph} LEN=${len} `;
  } else if (r < 0.93) {
    l4 = rnd() < 0.5
      ? `PROTO=ICMP TYPE=8 CODE=0 ID=${id} SEQ=${Math.floor(rnd() * 100)} `
      : `PROTO=ICMP TYPE=3 CODE=3 [SRC=${dst} DST=${src} LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=${id} PROTO=UDP SPT=53 DPT=${40000 + id % 20000} LEN=36 ] `;
  } else {
    ip6 = true;
    l4 = `PROTO=TCP SPT=${40000 + (id % 20000)} DPT=${pick(SERVICE_PORTS)} WINDOW=64800 RES=0x00 SYN URGP=0 `;
  }
  const ipHdr = ip6
    ? `SRC=fd00:0000:0000:0000:0000:0000:0000:00${pad2(a.toString(16))} DST=fd00:0000:0000:0000:0000:0000:0000:00${pad2(b.toString(16))} LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=${id} `
    : `SRC=${src} DST=${dst} LEN=${40 + Math.floor(rnd() * 1400)} TOS=0x00 PREC=0x00 TTL=64 ID=${id} ${rnd() < 0.8 ? 'DF ' : ''}`;
  const body = `HARVESTER_DROP_IN=mgmt-br OUT= MAC=${mac} ${ipHdr}${l4}`;
  const mono = (1000 + i * 0.007).toFixed(6);
  const e = rnd();
  const hms = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  const us = String(d.getUTCMilliseconds() * 1000).padStart(6, '0');
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const syslogStamp = `${MONTHS[d.getUTCMonth()]} ${day} ${hms}`;
  if (e < 0.05) return `${syslogStamp} ${host} systemd[1]: Started Session ${i} of user rancher.`;
  if (e < 0.08) return `${syslogStamp} ${host} kernel: [${mono.padStart(12, ' ')}] EXT4-fs (vda1): re-mounted. Opts: (null)`;
  if (e < 0.40) return `${syslogStamp} ${host} kernel: ${body}`;
  if (e < 0.50) return `${syslogStamp}.${us} ${host} kernel: ${body}`;
  if (e < 0.62) return `${d.toISOString().slice(0, 19)}.${us}+00:00 ${host} kernel: ${body}`;
  if (e < 0.72) return `4,${100000 + i},${Math.round(Number(mono) * 1e6)},-;${body}`;
  if (e < 0.80) return `[${mono.padStart(12, ' ')}] ${body}`;
  if (e < 0.85) return `<4>1 ${d.toISOString().slice(0, 19)}.${us}+00:00 ${host} kernel - - - [${mono}] ${body}`;
  if (e < 0.90) return JSON.stringify({ _TRANSPORT: 'kernel', PRIORITY: '4', _HOSTNAME: host, __REALTIME_TIMESTAMP: String(t0 * 1000), _SOURCE_MONOTONIC_TIMESTAMP: String(Math.round(Number(mono) * 1e6)), MESSAGE: body });
  if (e < 0.95) return `${host}: kern:    warn: [${d.toISOString().slice(0, 19)}.${us}000Z]: ${body}`;
  return `[ ${mono}] ${host} kernel: ${body}`;
}

/** `lines` corpus lines from a PRNG seeded with `seed`, newline-terminated (tests write it to files of their own). */
export function corpusText(lines, seed) {
  const rnd = mulberry32(seed);
  const out = [];
  for (let i = 0; i < lines; i++) out.push(makeLine(rnd, i));
  return `${out.join('\n')}\n`;
}

/** Writes the corpus (if not already there at this version) and returns its path. */
export function ensureCorpus(path, lines) {
  const stamp = `${path}.meta`;
  const want = JSON.stringify({ v: CORPUS_VERSION, lines });
  if (existsSync(path) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return Promise.resolve(path);
  mkdirSync(dirname(path), { recursive: true });
  const rnd = mulberry32(20261123);
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  return new Promise((resolve, reject) => {
    let i = 0;
    const step = () => {
      while (i < lines) {
        const chunk = [];
        for (let k = 0; k < 2000 && i < lines; k++, i++) chunk.push(makeLine(rnd, i));
        if (!out.write(`${chunk.join('\n')}\n`)) {
          out.once('drain', step);
          return;
        }
      }
      out.end(() => {
        renameSync(tmp, path);
        writeFileSync(stamp, want);
        resolve(path);
      });
    };
    out.on('error', reject);
    step();
  });
}
