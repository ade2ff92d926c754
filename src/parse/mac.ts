/**
 * MAC address helpers shared by the parser (which MAC headers a packet needs) and the classifier (how a packet was
 * addressed).
 */

/**
 * Is `mac` (`01:00:5e:00:00:fb`, or a whole `MAC=` header, which starts with the destination) a group — broadcast or
 * multicast — address? The first octet's low bit says so; its second hex digit holds that bit.
 */
export function isGroupMac(mac: string): boolean {
  const c = mac.charCodeAt(1);
  return ((c <= 57 ? c - 48 : (c | 32) - 87) & 1) === 1;
}
