// The line mutator the fuzzers and the hostile-input tests share: one to three edits a line, each one of — delete up
// to 12 characters; insert 1-6 characters of a hostile alphabet (field syntax, quotes, C0/C1 controls, DEL, ESC,
// CSI, BEL, line separators, a bidi override, non-ASCII); insert a LOG-line token; a run of up to 25 nines; reverse
// the words of a span; cut the line. Newlines and carriage returns become spaces (one line stays one line).
// And EDGE_LINES: a drop line in stamps at the edges of what a time can be, and with out-of-range numbers.

export const ALPHABET = ' 0123456789=.:[]xXaAfF-,;<>\t"\\{}SRCDTPINOUTMACLENTOSPRECTTLIDDFPROTOSPTDPTWINDOWRESACKSYNFINRSTPSHURGP' +
  '\u00e9\u2028\u0001\u007f\u0085\u001b\u009b\u0007\u202e';
export const TOKENS = ['SRC=', 'DST=', 'LEN=', 'PROTO=TCP ', 'PROTO=UDP ', 'SPT=', 'DPT=', ' ACK', ' SYN', 'MAC=', 'IN=', 'OUT=', '[', ']', 'DF ',
  'ID=', 'TTL=', '0x00', '99999999999', '-1', '255.255.255.255', 'fe80:0000:0000:0000:0000:0000:0000:0001', '  ', 'kernel: ', '"', '\\"',
  '\\u0000', '}'];

/** A mutator drawing from `rnd` (a seeded PRNG: same seed, same lines). */
export function mutator(rnd) {
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  return (line) => {
    let s = line;
    for (let m = 0, k = 1 + Math.floor(rnd() * 3); m < k; m++) {
      const i = Math.floor(rnd() * (s.length + 1));
      const r = rnd();
      if (r < 0.3) s = s.slice(0, i) + s.slice(i + Math.floor(rnd() * 12));
      else if (r < 0.6) {
        let ins = '';
        for (let q = 0, n = 1 + Math.floor(rnd() * 6); q < n; q++) ins += pick(ALPHABET);
        s = s.slice(0, i) + ins + s.slice(i);
      } else if (r < 0.78) s = s.slice(0, i) + pick(TOKENS) + s.slice(i);
      else if (r < 0.9) s = s.slice(0, i) + '9'.repeat(1 + Math.floor(rnd() * 25)) + s.slice(i);
      else if (r < 0.97) {
        const j = Math.floor(rnd() * (s.length + 1));
        const [a, b] = i < j ? [i, j] : [j, i];
        s = s.slice(0, a) + s.slice(a, b).split(' ').reverse().join(' ') + s.slice(b);
      } else s = s.slice(0, i);
    }
    return s.replaceAll('\n', ' ').replaceAll('\r', ' ');
  };
}

/** The drop line EDGE_LINES carry (198.18.0.1 → 198.18.0.2, TCP ACK PSH). */
export const EDGE_BODY = 'HARVESTER_DROP_IN=eth0 OUT= MAC=52:54:00:3e:aa:01:52:54:00:3d:bb:02:08:00 SRC=198.18.0.1 DST=198.18.0.2 LEN=60 ' +
  'TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=2380 DPT=46693 WINDOW=5 RES=0x00 ACK PSH URGP=0 ';
const journal = (o) => JSON.stringify({ _TRANSPORT: 'kernel', _HOSTNAME: 'n1', MESSAGE: EDGE_BODY, ...o });
const body = EDGE_BODY;

/** Lines whose stamps or numbers lie at or past the edge (first: a 22-digit journal stamp, year ~316,000,000). */
export const EDGE_LINES = [
  journal({ __REALTIME_TIMESTAMP: '9999999999917137865000', _SOURCE_MONOTONIC_TIMESTAMP: '1005565000' }),
  journal({ __REALTIME_TIMESTAMP: '253402300800000000' }),
  journal({ __REALTIME_TIMESTAMP: '253402300799999999' }),
  journal({ __REALTIME_TIMESTAMP: '99999999999999999999999', _SOURCE_MONOTONIC_TIMESTAMP: '99999999999999999999999' }),
  journal({ __REALTIME_TIMESTAMP: '1713780000042123', _SOURCE_MONOTONIC_TIMESTAMP: '99999999999999999999999' }),
  `[99999999999999999999.999999] ${body}`, `[18446744073709551615.999999] ${body}`,
  `4,1,99999999999999999999,-;${body}`, `4,1,18446744073709551615,-;${body}`,
  `9999-12-31T23:59:59.999999+14:00 n1 kernel: ${body}`, `9999-12-31T23:59:59.999999-14:00 n1 kernel: ${body}`,
  `0000-01-01T00:00:00+14:00 n1 kernel: ${body}`, `<4>1 9999-12-31T23:59:59Z n1 kernel - - - ${body}`,
  `Feb 29 10:00:00 n1 kernel: ${body}`, `Dec 31 23:59:60 n1 kernel: ${body}`, `Jan 00 10:00:00 n1 kernel: ${body}`,
  `Jan 32 25:61:61 n1 kernel: ${body}`, `Thu Jan  1 00:00:00 9999 n1 kernel: ${body}`, `[Fri Dec 31 23:59:59 9999] ${body}`,
  `1713780000.123456 n1 kernel: ${body}`, `99999999999999999999.123456 n1 kernel: ${body}`,
  `[ 1000.000000] ${body.replace('LEN=60', 'LEN=99999999999999999999')}`,
  `[ 1000.000000] ${body.replace('SPT=2380', 'SPT=99999999999')}`, `[ 1000.000000] ${body.replace('ID=1', 'ID=-5')}`,
  // journalctl short-full and dmesg's ISO form at the edges, zones past any real offset
  `Fri 9999-12-31 23:59:59.999999 UTC n1 kernel: ${body}`, `Mon 0000-01-01 00:00:00 +1400 n1 kernel: ${body}`,
  `Mon 2024-02-30 25:61:61 -9999 n1 kernel: ${body}`, `Mon 2024-04-22 10:00:00 Not/AZone n1 kernel: ${body}`,
  `9999-12-31T23:59:59,999999+14:00 ${body}`, `kern  :warn  : 9999-12-31T23:59:59,999999-14:00 ${body}`,
  `use0x00r  :notice: [ 1016.000100] [  702.743337] ${body}`, `kern  :warning: [ 1016.000100] ${body}`,
  `[ 99999999999999999999.999999 <    0.000001>] n1 kernel: ${body}`, `[Feb30 25:61] ${body}`,
  // dates the calendar lacks, in every envelope that reads a numeric date (malformed, never rolled over)
  `Apr 31 10:00:00 n1 kernel: ${body}`, `<4>Feb 30 10:00:00 n1 kernel: ${body}`, `2026-04-31T10:00:00+00:00 n1 kernel: ${body}`,
  `2100-02-29T10:00:00Z n1 kernel: ${body}`, `<4>1 2026-06-31T10:00:00Z n1 kernel - - - ${body}`, `2026-09-31T10:00:01,123456+00:00 ${body}`,
  `10.0.0.1: kern:    warn: [2026-11-31T10:09:37.662764956Z]: ${body}`, `Thu 2026-04-31 10:00:01 UTC n1 kernel: ${body}`,
  `[Thu Apr 31 10:00:01 2026] ${body}`, `[Wed Apr 22 25:00:01 2026] ${body}`,
  // conntrack INVALID lines, today's and those of kernels before 4.14 (the tracker's name), and a helper's drop
  `[ 1000.000000] nf_ct_proto_6: invalid packet ignored in state ESTABLISHED ${body.slice(body.indexOf('IN='))}`,
  `[ 1000.000000] nf_ct_tcp: invalid packet ignored ${body.slice(body.indexOf('IN='))}`,
  `[ 1000.000000] nf_ct_icmpv6: invalid new with type 129 ${body.slice(body.indexOf('IN='))}`,
  `[ 1000.000000] nf_ct_ftp: dropping packet: partial response ${body.slice(body.indexOf('IN='))}`,
  // json-pretty records cut short or never closed (a `{` alone, then lines that are not members)
  '{', `\t"MESSAGE" : "${body}",`, '{', `\t"_TRANSPORT" : "kernel"`, '}',
];
