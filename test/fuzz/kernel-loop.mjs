// Random drops (TCP, UDP, UDP-Lite, SCTP, ICMP, GRE; IPv4 and IPv6; any port) → `suggest --format policy` →
// `compile` (nft, iptables-restore, ip6tables-restore) → the kernel tools' own check (`nft -c`, `--test`) inside a
// throwaway network namespace (root only; deleted also on failure). Any rejection is a finding.
// Usage: sudo node test/fuzz/kernel-loop.mjs [ROUNDS=20] [SEED=1]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const ROUNDS = Number(process.argv[2] ?? 20);
const { mulberry32 } = await import(`${root}/bench/corpus.mjs`);
const rnd = mulberry32(Number(process.argv[3] ?? 1));
const pick = (a) => a[Math.floor(rnd() * a.length)];
const NS = `fwfz${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'fwdiag-fuzz-'));
const at = (f) => join(dir, f);
execFileSync('ip', ['netns', 'add', NS]);
let findings = 0;
try {
  for (let r = 0; r < ROUNDS; r++) {
    const platform = pick(['harvester', 'rke2', 'k3s', 'kubeadm', 'talos', 'konvoy']);
    const roles = { harvester: ['control-plane', 'worker', 'witness'], rke2: ['server', 'agent'], k3s: ['server', 'agent'], kubeadm: ['control-plane', 'worker'], talos: ['controlplane', 'worker'], konvoy: ['control-plane', 'worker'] }[platform];
    const role = pick(roles);
    const lines = [];
    const n = 5 + Math.floor(rnd() * 40);
    for (let i = 0; i < n; i++) {
      const v6 = rnd() < 0.3;
      const src = v6 ? `fd00:0000:0000:0000:0000:0000:00${String(10 + Math.floor(rnd() * 80))}:00${String(10 + Math.floor(rnd() * 80))}` : `198.18.${Math.floor(rnd() * 4)}.${1 + Math.floor(rnd() * 250)}`;
      const dst = v6 ? 'fd00:0000:0000:0000:0000:0000:0000:0001' : '198.19.0.1';
      const port = pick([22, 53, 80, 443, 2379, 2380, 6443, 9345, 10250, 8472, 4789, 51820, 30000 + Math.floor(rnd() * 2767), 1 + Math.floor(rnd() * 65535), 65535, 1]);
      const proto = pick(['TCP', 'TCP', 'UDP', 'UDPLITE', 'SCTP', 'ICMP', '47']);
      const time = `10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
      const head = `Apr 22 ${time} node1 kernel: FWDIAG_DROP_IN=eth0 OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:62:08:00 SRC=${src} DST=${dst} `;
      const ip = v6 ? 'LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 ' : 'LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF ';
      let l4;
      if (proto === 'TCP') l4 = `PROTO=TCP SPT=${40000 + i} DPT=${port} WINDOW=64240 RES=0x00 SYN URGP=0 `;
      else if (proto === 'UDP' || proto === 'UDPLITE') l4 = `PROTO=${proto} SPT=${40000 + i} DPT=${port} LEN=20 `;
      else if (proto === 'SCTP') l4 = `PROTO=SCTP SPT=${40000 + i} DPT=${port} `;
      else if (proto === 'ICMP') l4 = v6 ? 'PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1 ' : 'PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1 ';
      else l4 = `PROTO=${proto} `;
      lines.push(head + ip + l4);
    }
    writeFileSync(at('drops.log'), lines.join('\n') + '\n');
    const sug = spawnSync(process.execPath, [`${root}/bin/fwdiag.js`, 'suggest', '--format', 'policy', '--platform', platform, '--role', role, '--allow-unknown', ...(rnd() < 0.5 ? ['--cluster-subnet', '198.18.0.0/22'] : []), at('drops.log')], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    if (sug.status !== 0) { findings++; console.log(`suggest exit ${sug.status}: ${sug.stderr}`); continue; }
    writeFileSync(at('fragment.yaml'), sug.stdout);
    for (const target of ['nft', 'iptables-restore', 'ip6tables-restore']) {
      const c = spawnSync(process.execPath, [`${root}/bin/fwdiag.js`, 'compile', '--target', target, '--platform', platform, '--role', role, '--extra', at('fragment.yaml')], { encoding: 'utf8' });
      if (c.status !== 0) { findings++; console.log(`compile ${target} exit ${c.status}: ${c.stderr.slice(0, 300)}`); writeFileSync(at(`finding-${findings}.log`), lines.join('\n')); continue; }
      writeFileSync(at('rules'), c.stdout);
      const check = target === 'nft' ? ['nft', '-c', '-f', at('rules')] : [target, '--test', at('rules')];
      const k = spawnSync('ip', ['netns', 'exec', NS, ...check], { encoding: 'utf8' });
      if (k.status !== 0) {
        findings++;
        console.log(`KERNEL REJECTS ${target} (${platform}/${role}): ${k.stderr.slice(0, 400)}`);
        writeFileSync(at(`finding-${findings}.log`), lines.join('\n'));
        writeFileSync(at(`finding-${findings}.rules`), c.stdout);
        writeFileSync(at(`finding-${findings}.fragment.yaml`), sug.stdout);
      }
    }
  }
} finally {
  execFileSync('ip', ['netns', 'del', NS]);
}
if (findings === 0) rmSync(dir, { recursive: true, force: true });
else console.log(`findings kept in ${dir}`);
console.log(`kernel loop: ${ROUNDS} rounds, ${findings} findings`);
process.exitCode = findings === 0 ? 0 : 1;
