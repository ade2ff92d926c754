"""Sends one hand-made TCP segment (any flags) or one UDP datagram, for the kernel tests: no handshake, no retries.

usage: craft.py tcp|udp SRC DST SPORT DPORT FLAGS [IFNAME]
FLAGS: LOG words joined by commas (SYN,ACK; FIN,PSH,URG; ECE,CWR,SYN) or NONE. IFNAME: the scope of a link-local
IPv6 address. Standard library only (a raw socket: root).
"""
import socket
import struct
import sys

BITS = {'FIN': 0x01, 'SYN': 0x02, 'RST': 0x04, 'PSH': 0x08, 'ACK': 0x10, 'URG': 0x20, 'ECE': 0x40, 'CWR': 0x80}


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack(f'!{len(data) // 2}H', data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main() -> None:
    proto, src, dst, sport, dport, flags = sys.argv[1:7]
    scope = socket.if_nametoindex(sys.argv[7]) if len(sys.argv) > 7 else 0
    v6 = ':' in dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    here = (src, 0, 0, scope) if v6 else (src, 0)
    there = (dst, int(dport), 0, scope) if v6 else (dst, int(dport))
    if proto == 'udp':
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((src, int(sport), 0, scope) if v6 else (src, int(sport)))
        s.sendto(b'fwdiag', there)
        return
    bits = 0 if flags == 'NONE' else sum(BITS[f] for f in flags.split(','))
    urg = 1 if bits & 0x20 else 0
    ack = 1 if bits & 0x10 else 0
    hdr = struct.pack('!HHIIBBHHH', int(sport), int(dport), 1000, ack, 5 << 4, bits, 64240, 0, urg)
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind(here)
    if v6:
        # the kernel fills in the checksum at this offset (the pseudo-header needs the addresses it picks)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 16)
    else:
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack('!H', checksum(pseudo + hdr)) + hdr[18:]
    s.sendto(hdr, (dst, 0, 0, scope) if v6 else (dst, 0))


main()
