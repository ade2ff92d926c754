"""Sends one hand-made TCP segment (any flags) or one UDP datagram, for the kernel tests: no handshake, no retries.

usage: craft.py tcp|udp SRC DST SPORT DPORT FLAGS [IFNAME]
       craft.py icmp SRC DST TYPE CODE      (IPv4: an ICMP message of that type and code, fixed id, seq and payload)
       craft.py esp|ah SRC DST SPI SEQ      (IPv4: an ESP or AH header with that SPI, and a few bytes after it)
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


def ipsec_or_icmp(proto: str, src: str, dst: str, a: int, b: int) -> None:
    """The ICMP message or ESP/AH header craft.py's usage names; prints the ICMP checksum it wrote."""
    if proto == 'icmp':
        body = struct.pack('!BBHHH', a, b, 0, 0x4657, 1) + b'fwdiag-th'
        cs = checksum(body)
        msg = body[:2] + struct.pack('!H', cs) + body[4:]
        print(cs)
        number = socket.IPPROTO_ICMP
    elif proto == 'esp':
        msg = struct.pack('!II', a, b) + b'fwdiag-th-payload'
        number = 50
    else:
        # next header 59 (none), payload length 4 (a 24-byte header: 12 bytes of ICV), reserved 0
        msg = struct.pack('!BBHII', 59, 4, 0, a, b) + bytes(12)
        number = 51
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, number)
    s.bind((src, 0))
    s.sendto(msg, (dst, 0))


def main() -> None:
    if sys.argv[1] in ('icmp', 'esp', 'ah'):
        ipsec_or_icmp(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 0), int(sys.argv[5], 0))
        return
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
