/**
 * The kernel prints IPv6 addresses in full (`%pI6`: `fe80:0000:…:0001`); operators and rule syntaxes use the
 * RFC 5952 compressed form — an IPv4-mapped address (::ffff:0:0/96) with its IPv4 address dotted (§5:
 * `::ffff:198.18.0.1`, as inet_ntop, `ip` and `ss` print it). Returns the input unchanged when it is not eight groups
 * of hex.
 */
export function compressIpv6(full: string): string {
  // One pass over the characters (a split and a regular expression per group cost a flood of new addresses ~15 %
  // of its time): eight groups of one to four hex digits, leading zeros dropped, lower case.
  const parts: string[] = new Array<string>(8);
  const n = full.length;
  let g = 0;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? full.charCodeAt(i) : 58;
    if (c === 58 /* : */) {
      if (i === start || i - start > 4 || g === 8) return full;
      let k = start;
      while (k < i - 1 && full.charCodeAt(k) === 48 /* 0 */) k++;
      parts[g++] = full.slice(k, i).toLowerCase();
      start = i + 1;
    } else if (!((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102))) return full;
  }
  if (g !== 8) return full;
  if (parts[5] === 'ffff' && parts[0] === '0' && parts[1] === '0' && parts[2] === '0' && parts[3] === '0' && parts[4] === '0') {
    const hi = Number.parseInt(parts[6] as string, 16);
    const lo = Number.parseInt(parts[7] as string, 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  // Longest run of at least two zero groups; the first one on a tie (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return parts.join(':');
  const head = parts.slice(0, bestStart).join(':');
  const tail = parts.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

const cache = new Map<string, string>();

/** compressIpv6 with a bounded memo: a log names the same few addresses over and over. */
export function compressIpv6Cached(full: string): string {
  let v = cache.get(full);
  if (v === undefined) {
    v = compressIpv6(full);
    if (cache.size >= 4096) cache.clear();
    cache.set(full, v);
  }
  return v;
}

/**
 * An address and its port as `addr:port`, an IPv6 address in brackets (RFC 5952 §6: else its last group reads as the
 * port); the address alone when there is no port.
 */
export function endpoint(addr: string, port: number | string | null | undefined): string {
  if (port === null || port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
