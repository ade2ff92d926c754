// The line mutator the fuzzers and the hostile-input tests share: one to three edits a line, each one of — delete up
// to 12 characters; insert 1-6 characters of a hostile alphabet (field syntax, quotes, C0/C1 controls, DEL, ESC,
// CSI, BEL, line separators, a bidi override, non-ASCII); insert a LOG-line token; a run of up to 25 nines; reverse
// the words of a span; cut the line. Newlines and carriage returns become spaces (one line stays one line).

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
