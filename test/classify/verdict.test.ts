import { describe, expect, it } from 'vitest';
import { CAST_BROADCAST, CAST_MULTICAST, CAST_UNICAST, castOf, classifyPacket, type VerdictContext } from '../../src/classify/verdict.js';
import { builtinServiceForPort, catalogServiceLookup } from '../../src/classify/services.js';
import { eventOf } from './helpers.js';

const ctx: VerdictContext = {
  ephemeral: { from: 32768, to: 60999 },
  nodePorts: { from: 30000, to: 32767 },
  services: builtinServiceForPort,
};

const H = 'kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:8e:21:63:52:54:00:3a:7c:61:08:00';

// [name, real line, verdict, rule, server side, service, reason substring]
const cases: Array<[string, string, string, string, 'src' | 'dst', string | undefined, string]> = [
  ['seed: ACK FIN from RKE2 supervisor to an ephemeral port',
    `Apr 22 10:00:01 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=9345 DPT=46002 WINDOW=521 RES=0x00 ACK FIN URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'RKE2 supervisor API',
    'ACK FIN from 192.168.122.61:9345 (RKE2 supervisor API) to 46002: teardown of a connection whose conntrack state was lost'],
  ['seed (upgrade): ACK RST from kubelet',
    `May 05 04:40:28 harvester1 ${H} SRC=192.168.122.62 DST=192.168.122.61 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=10250 DPT=56266 WINDOW=0 RES=0x00 ACK RST URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'kubelet API', 'reset of a connection whose conntrack state was lost'],
  ['seed (upgrade): ACK from the API server',
    `May 05 04:43:35 harvester2 ${H} SRC=192.168.122.61 DST=192.168.122.62 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=51721 DF PROTO=TCP SPT=6443 DPT=43707 WINDOW=1234 RES=0x00 ACK URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'Kubernetes API', 'ACK from 192.168.122.61:6443 (Kubernetes API) to 43707'],
  ['RST alone from kubelet',
    `May 05 04:40:29 harvester1 ${H} SRC=192.168.122.62 DST=192.168.122.61 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=10250 DPT=56266 WINDOW=0 RES=0x00 RST URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'kubelet API', 'RST from 192.168.122.62:10250'],
  ['ACK PSH from etcd to a port below the ephemeral range (SNAT or another OS) is still conntrack loss',
    `Apr 22 10:00:03 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=1500 TOS=0x00 PREC=0x00 TTL=64 ID=3312 DF PROTO=TCP SPT=2379 DPT=20417 WINDOW=501 RES=0x00 ACK PSH URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'etcd client', 'data on a connection whose conntrack state was lost'],
  ['SYN ACK from a service answers our own SYN',
    `Apr 22 10:00:04 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=9345 DPT=51514 WINDOW=65160 RES=0x00 ACK SYN URGP=0 `,
    'conntrack-loss', 'tcp-syn-ack', 'src', 'RKE2 supervisor API', 'reply to our own outbound SYN'],
  ['SYN ACK between unknown ports: flags still make the source the server',
    `Apr 22 10:00:04 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=45000 DPT=51000 WINDOW=65160 RES=0x00 ACK SYN URGP=0 `,
    'conntrack-loss', 'tcp-syn-ack', 'src', undefined, 'SYN ACK from 192.168.122.61:45000 to 51000'],
  ['ACK from the client side to a service (our state lost)',
    `Apr 22 10:00:05 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=2 DF PROTO=TCP SPT=43707 DPT=6443 WINDOW=501 RES=0x00 ACK URGP=0 `,
    'conntrack-loss', 'tcp-to-service', 'dst', 'Kubernetes API', "mid-connection packet to a service (not SYN), traffic of a connection whose conntrack state was lost — a rule accepting 6443 whatever the connection's state (as the seeds' port rules do) would have let it through"],
  ['SYN to etcd peer: a missing rule for a known service',
    `Apr 22 10:00:06 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=23022 DF PROTO=TCP SPT=39120 DPT=2380 WINDOW=64240 RES=0x00 SYN URGP=0 `,
    'genuine-block', 'tcp-syn', 'dst', 'etcd peer', 'SYN from 192.168.122.64:39120 to 2380 (etcd peer): new connection refused'],
  ['ECN SYN (SYN with ECE CWR) is still a new connection',
    `Apr 22 10:00:06 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=23022 DF PROTO=TCP SPT=39121 DPT=6443 WINDOW=64240 RES=0x00 CWR ECE SYN URGP=0 `,
    'genuine-block', 'tcp-syn', 'dst', 'Kubernetes API', 'new connection refused'],
  ['SYN to a NodePort is a NodePort connection, never ephemeral',
    `Apr 22 10:00:07 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=881 DF PROTO=TCP SPT=52144 DPT=31000 WINDOW=64240 RES=0x00 SYN URGP=0 `,
    'genuine-block', 'tcp-syn', 'dst', 'NodePort', 'NodePort range 30000-32767'],
  ['ACK from a NodePort to a high port: the NodePort side is the server',
    `Apr 22 10:00:08 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=31000 DPT=40000 WINDOW=501 RES=0x00 ACK URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'NodePort', 'from 192.168.122.61:31000 (NodePort) to 40000'],
  ['SYN from a high port to an unknown high port',
    `Apr 22 10:00:09 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=44312 DPT=12345 WINDOW=64240 RES=0x00 SYN URGP=0 `,
    'genuine-block', 'tcp-syn', 'dst', undefined, 'to a port no known service uses'],
  ['ACK between two ephemeral ports, neither known: undetermined',
    `Apr 22 10:00:10 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=45000 DPT=51000 WINDOW=501 RES=0x00 ACK URGP=0 `,
    'undetermined', 'tcp-ambiguous-ports', 'src', undefined, 'cannot tell which side is the server'],
  ['ACK from an unknown non-ephemeral port to an ephemeral one: weak conntrack loss',
    `Apr 22 10:00:11 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=7777 DPT=51000 WINDOW=501 RES=0x00 ACK PSH URGP=0 `,
    'conntrack-loss', 'tcp-from-low-range', 'src', undefined, 'likely data on a connection'],
  ['bare FIN from a service',
    `Apr 22 10:00:12 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=6443 DPT=40001 WINDOW=501 RES=0x00 FIN URGP=0 `,
    'conntrack-loss', 'tcp-from-service', 'src', 'Kubernetes API', 'FIN without ACK'],
  ['NULL packet (no flags) is crafted',
    `Apr 22 10:00:13 harvester3 ${H} SRC=203.0.113.9 DST=192.168.122.63 LEN=40 TOS=0x00 PREC=0x00 TTL=44 ID=5513 PROTO=TCP SPT=61882 DPT=22 WINDOW=1024 RES=0x00 URGP=0 `,
    'undetermined', 'tcp-crafted-flags', 'dst', 'SSH', 'crafted probe'],
  ['SYN FIN is crafted',
    `Apr 22 10:00:13 harvester3 ${H} SRC=203.0.113.9 DST=192.168.122.63 LEN=40 TOS=0x00 PREC=0x00 TTL=44 ID=5514 PROTO=TCP SPT=61882 DPT=80 WINDOW=1024 RES=0x00 SYN FIN URGP=0 `,
    'undetermined', 'tcp-crafted-flags', 'dst', 'HTTP (Harvester UI / ingress)', 'TCP flags SYN FIN'],
  ['TCP to port 0 is malformed',
    `Apr 22 10:00:14 harvester3 ${H} SRC=203.0.113.9 DST=192.168.122.63 LEN=40 TOS=0x00 PREC=0x00 TTL=44 ID=5515 PROTO=TCP SPT=40000 DPT=0 WINDOW=1024 RES=0x00 SYN URGP=0 `,
    'undetermined', 'port-zero', 'dst', undefined, 'port 0'],
  ['non-first fragment has no ports',
    `Apr 22 10:00:15 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=548 TOS=0x00 PREC=0x00 TTL=64 ID=4321 FRAG:185 PROTO=UDP `,
    'undetermined', 'fragment', 'dst', undefined, 'non-first fragment (offset 185)'],
  ['UDP DNS reply to a high port',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=120 TOS=0x00 PREC=0x00 TTL=64 ID=61201 PROTO=UDP SPT=53 DPT=48211 LEN=100 `,
    'conntrack-loss', 'udp-from-service', 'src', 'DNS', 'UDP from 192.168.122.1:53 (DNS) to 48211: reply to our own request'],
  ['UDP NTP reply to a high port',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=76 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=123 DPT=51377 LEN=56 `,
    'conntrack-loss', 'udp-from-service', 'src', 'NTP', 'reply to our own request'],
  ['UDP DNS reply to a client port a catalog also names (WireGuard 51820, in the ephemeral range): the reply wins',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=42 TOS=0x00 PREC=0x00 TTL=64 ID=61202 PROTO=UDP SPT=53 DPT=51820 LEN=22 `,
    'conntrack-loss', 'udp-reply-to-named-port', 'src', 'DNS', 'a catalog names 51820 too (WireGuard (Canal/Calico/KubeSpan))'],
  ['UDP from a privileged port to a NodePort stays a datagram to a NodePort',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=42 TOS=0x00 PREC=0x00 TTL=64 ID=61203 PROTO=UDP SPT=53 DPT=31000 LEN=22 `,
    'genuine-block', 'udp-to-service', 'dst', 'NodePort', 'NodePort range 30000-32767'],
  ['UDP from a privileged port to a catalogued port outside the ephemeral range stays a new flow (DHCP offer 67 → 68)',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=328 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=67 DPT=68 LEN=308 `,
    'genuine-block', 'udp-to-service', 'dst', 'DHCP client', 'datagram to a known service refused'],
  ['UDP rpcbind reply to a reserved client port below 1024',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=111 DPT=876 LEN=36 `,
    'conntrack-loss', 'udp-from-service', 'src', 'rpcbind (NFS)', 'to 876 (a reserved port, as RPC clients bind): reply'],
  ['UDP from a client port a catalog names (51820) to a low port no catalog names: still a datagram to a port',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=51820 DPT=161 LEN=36 `,
    'genuine-block', 'udp-to-port', 'dst', undefined, 'no known service uses'],
  ['UDP from DNS to a low port no catalog names (a UDP scan from port 53): still a datagram to a port',
    `Apr 22 10:00:16 harvester3 ${H} SRC=203.0.113.9 DST=192.168.122.63 LEN=56 TOS=0x00 PREC=0x00 TTL=44 ID=0 PROTO=UDP SPT=53 DPT=623 LEN=36 `,
    'genuine-block', 'udp-to-port', 'dst', undefined, 'no known service uses'],
  ['UDP 123 to 123: the same privileged port on both ends is request or answer',
    `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=76 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=123 DPT=123 LEN=56 `,
    'undetermined', 'udp-same-port', 'dst', 'NTP', 'if this host serves NTP, the rule is missing; if it only asks'],
  ['IPv6 endpoints are bracketed before their port',
    `Apr 22 10:00:16 harvester3 ${H} SRC=fd00:0000:0000:0000:0000:0000:0000:0001 DST=fd00:0000:0000:0000:0000:0000:0000:0063 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=53 DPT=48211 LEN=40 `,
    'conntrack-loss', 'udp-from-service', 'src', 'DNS', 'UDP from [fd00::1]:53 (DNS) to 48211'],
  ['UDP to VXLAN 8472 is a new flow refused',
    `Apr 22 10:00:17 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=134 TOS=0x00 PREC=0x00 TTL=64 ID=40291 PROTO=UDP SPT=43512 DPT=8472 LEN=114 `,
    'genuine-block', 'udp-to-service', 'dst', 'VXLAN (Flannel/Canal/Cilium)', 'datagram to a known service refused'],
  ['UDP 8472 to 8472: same port both ends, to-service wins',
    `Apr 22 10:00:17 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=134 TOS=0x00 PREC=0x00 TTL=64 ID=40292 PROTO=UDP SPT=8472 DPT=8472 LEN=114 `,
    'genuine-block', 'udp-to-service', 'dst', 'VXLAN (Flannel/Canal/Cilium)', 'to 8472'],
  ['UDP to an unknown low port',
    `Apr 22 10:00:18 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=40293 PROTO=UDP SPT=50112 DPT=161 LEN=58 `,
    'genuine-block', 'udp-to-port', 'dst', undefined, 'no known service uses'],
  ['UDP between two ephemeral ports',
    `Apr 22 10:00:18 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=40294 PROTO=UDP SPT=50112 DPT=50113 LEN=58 `,
    'undetermined', 'udp-ambiguous-ports', 'dst', undefined, 'cannot tell request from reply'],
  ['ICMP echo request: a ping refused',
    `Apr 22 10:00:19 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=12763 DF PROTO=ICMP TYPE=8 CODE=0 ID=4 SEQ=1 `,
    'genuine-block', 'icmp-echo-request', 'dst', 'ICMP echo', 'ping refused'],
  ['ICMP echo reply answers our ping',
    `Apr 22 10:00:19 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=2121 PROTO=ICMP TYPE=0 CODE=0 ID=4 SEQ=1 `,
    'conntrack-loss', 'icmp-echo-reply', 'src', 'ICMP echo', 'answer to our own ping'],
  ['ICMP fragmentation-needed about our own packet',
    `Apr 22 10:00:20 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=576 TOS=0x00 PREC=0xC0 TTL=64 ID=4242 PROTO=ICMP TYPE=3 CODE=4 [SRC=192.168.122.63 DST=192.168.122.9 LEN=1500 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=6443 DPT=51000 WINDOW=501 RES=0x00 ACK PSH URGP=0 ] MTU=1450 `,
    'conntrack-loss', 'icmp-error-own', 'src', undefined, 'ICMP error about our own packet'],
  ['ICMP port unreachable about someone else\'s packet',
    `Apr 22 10:00:21 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=112 TOS=0x00 PREC=0xC0 TTL=64 ID=4243 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.168.122.70 DST=192.168.122.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=7 PROTO=UDP SPT=40000 DPT=53 LEN=64 ] `,
    'undetermined', 'icmp-error-foreign', 'src', undefined, 'not from 192.168.122.63'],
  ['IP-in-IP (protocol 4)',
    `Apr 22 10:00:22 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=104 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=4 `,
    'genuine-block', 'ip-protocol', 'dst', 'IP-in-IP (Calico)', 'protocol 4 (IP-in-IP (Calico))'],
  // LAN chatter. The first two are lines the lab's kernel wrote (test/lab/cluster.sh, scenario 5).
  ['kernel: NetBIOS name query to the subnet broadcast address (told by the broadcast MAC)',
    '4,23437,64909602764,-;HARVESTER_DROP_00ba00_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:02:00:c6:13:c9:66:08:00 SRC=198.19.184.102 DST=198.19.184.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=23360 DF PROTO=UDP SPT=137 DPT=137 LEN=58 ',
    'broadcast', 'link-broadcast', 'dst', 'NetBIOS name service', 'UDP broadcast from 198.19.184.102:137 to 198.19.184.255:137 (NetBIOS name service): sent to every host on the LAN segment'],
  ['kernel: mDNS query to 224.0.0.251',
    '4,23440,64909602863,-;HARVESTER_DROP_00ba00_IN=mgmt-br OUT= MAC=01:00:5e:00:00:fb:02:00:c6:13:c9:66:08:00 SRC=198.19.184.102 DST=224.0.0.251 LEN=68 TOS=0x00 PREC=0x00 TTL=1 ID=24463 DF PROTO=UDP SPT=5353 DPT=5353 LEN=48 ',
    'broadcast', 'link-multicast', 'dst', 'mDNS', 'no catalog names udp/5353 as a service a node offers'],
  ['SSDP search to 239.255.255.250 from an ephemeral port (not a reply: the group address decides)',
    `Apr 22 10:00:24 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:7f:ff:fa:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=239.255.255.250 LEN=200 TOS=0x00 PREC=0x00 TTL=4 ID=0 DF PROTO=UDP SPT=51000 DPT=1900 LEN=180 `,
    'broadcast', 'link-multicast', 'dst', 'SSDP (UPnP discovery)', 'never a reason to open a port'],
  ['multicast told by the address alone, no MAC in the line (OUTPUT, tun devices)',
    `Apr 22 10:00:25 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= SRC=192.168.122.50 DST=224.0.0.252 LEN=60 TOS=0x00 PREC=0x00 TTL=1 ID=0 PROTO=UDP SPT=55000 DPT=5355 LEN=40 `,
    'broadcast', 'link-multicast', 'dst', 'LLMNR', 'UDP multicast from 192.168.122.50:55000 to 224.0.0.252:5355 (LLMNR)'],
  ['Dropbox LAN sync to 255.255.255.255 (was a genuine block of an unknown port)',
    `Apr 22 10:00:26 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=255.255.255.255 LEN=229 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=17500 DPT=17500 LEN=209 `,
    'broadcast', 'link-broadcast', 'dst', 'Dropbox LAN sync', 'UDP broadcast from 192.168.122.50:17500 to 255.255.255.255:17500 (Dropbox LAN sync)'],
  ['a DHCP server\'s broadcast answer to port 68 stays a genuine block: a DHCP client\'s renewals need 68 open',
    `Apr 22 10:00:26 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.1 DST=255.255.255.255 LEN=328 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=67 DPT=68 LEN=308 `,
    'genuine-block', 'udp-to-service', 'dst', 'DHCP client', 'datagram to a known service refused'],
  ['broadcast to a port a catalog names stays a genuine block (the node may serve it)',
    `Apr 22 10:00:27 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=0.0.0.0 DST=255.255.255.255 LEN=328 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=68 DPT=67 LEN=308 `,
    'genuine-block', 'udp-to-service', 'dst', 'DHCP server', 'the rule is missing'],
  ['IGMP membership query to all hosts',
    `Apr 22 10:00:28 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:00:00:01:52:54:00:11:22:33:08:00 SRC=192.168.122.1 DST=224.0.0.1 LEN=32 TOS=0x00 PREC=0xC0 TTL=1 ID=0 DF OPT (94040000) PROTO=2 `,
    'broadcast', 'link-multicast', 'dst', 'IGMP', 'protocol 2 (IGMP) multicast from 192.168.122.1 to 224.0.0.1'],
  ['VRRP to its group stays a genuine block (keepalived peers need it)',
    `Apr 22 10:00:29 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=01:00:5e:00:00:12:52:54:00:11:22:33:08:00 SRC=192.168.122.2 DST=224.0.0.18 LEN=40 TOS=0x00 PREC=0xC0 TTL=255 ID=0 PROTO=112 `,
    'genuine-block', 'ip-protocol', 'dst', 'VRRP (keepalived)', 'refused by the ruleset'],
  ['a ping to the subnet broadcast address',
    `Apr 22 10:00:30 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=192.168.122.255 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=7 DF PROTO=ICMP TYPE=8 CODE=0 ID=3 SEQ=1 `,
    'broadcast', 'link-broadcast', 'dst', 'ICMP echo', 'ICMP broadcast (type 8, ICMP echo) from 192.168.122.50 to 192.168.122.255'],
  ['IPv6: mDNS to ff02::fb',
    `Apr 22 10:00:31 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=33:33:00:00:00:fb:52:54:00:11:22:33:86:dd SRC=fe80:0000:0000:0000:5054:00ff:fe11:2233 DST=ff02:0000:0000:0000:0000:0000:0000:00fb LEN=120 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=UDP SPT=5353 DPT=5353 LEN=80 `,
    'broadcast', 'link-multicast', 'dst', 'mDNS', 'to [ff02::fb]:5353 (mDNS)'],
  ['TCP never goes to a group: a SYN in a broadcast frame is judged by its flags',
    `Apr 22 10:00:32 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:11:22:33:08:00 SRC=192.168.122.50 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=44312 DPT=12345 WINDOW=64240 RES=0x00 SYN URGP=0 `,
    'genuine-block', 'tcp-syn', 'dst', undefined, 'to a port no known service uses'],
];

describe('castOf: how a packet was addressed', () => {
  it.each([
    ['ff:ff:ff:ff:ff:ff', '192.168.122.255', CAST_BROADCAST],
    ['01:00:5e:00:00:fb', '224.0.0.251', CAST_MULTICAST],
    ['33:33:00:00:00:01', 'ff02:0000:0000:0000:0000:0000:0000:0001', CAST_MULTICAST],
    // the group bit is the first octet's lowest: 03 and 0F are group addresses, 02 and 52 are not
    ['03:00:00:00:00:01', '10.0.0.9', CAST_MULTICAST],
    ['0F:00:00:00:00:01', '10.0.0.9', CAST_MULTICAST],
    ['02:00:c6:13:c9:66', '198.19.184.255', CAST_UNICAST],
    ['52:54:00:8e:21:63', '192.168.122.63', CAST_UNICAST],
    // no MAC: the address alone
    [undefined, '224.0.0.1', CAST_MULTICAST],
    [undefined, '239.255.255.250', CAST_MULTICAST],
    [undefined, '255.255.255.255', CAST_BROADCAST],
    [undefined, 'ff02::fb', CAST_MULTICAST],
    [undefined, 'FF05:0000:0000:0000:0000:0000:0001:0003', CAST_MULTICAST],
    [undefined, '223.255.255.255', CAST_UNICAST],
    [undefined, '240.0.0.1', CAST_UNICAST],
    [undefined, '10.0.0.255', CAST_UNICAST], // a subnet's broadcast cannot be told from a host without the mask or MAC
    [undefined, 'fe80:0000:0000:0000:5054:00ff:fe11:2233', CAST_UNICAST],
    [undefined, 'f00d::1', CAST_UNICAST],
    [undefined, undefined, CAST_UNICAST],
    // a MAC that is no Ethernet address (not 6 octets) says nothing
    ['ff:ff', '192.168.122.63', CAST_UNICAST],
  ] as const)('MAC %s, DST %s → %i', (mac, dst, want) => {
    expect(castOf(dst, mac)).toBe(want);
  });
});

describe('per-packet verdicts on real kernel lines', () => {
  it.each(cases)('%s', (_name, line, verdict, rule, server, service, reason) => {
    const v = classifyPacket(eventOf(line), ctx);
    expect(v.verdict).toBe(verdict);
    expect(v.rule).toBe(rule);
    expect(v.server).toBe(server);
    expect(v.service).toBe(service);
    expect(v.reason).toContain(reason);
  });

  it('honours a configured ephemeral range', () => {
    // With a peer range of 49152-65535, 45000 is no longer a client port: the ACK from it becomes a weak reply
    const line = `Apr 22 10:00:10 harvester3 ${H} SRC=192.168.122.61 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=45000 DPT=51000 WINDOW=501 RES=0x00 ACK URGP=0 `;
    const v = classifyPacket(eventOf(line), { ...ctx, ephemeral: { from: 49152, to: 65535 } });
    expect(v.verdict).toBe('conntrack-loss');
    expect(v.rule).toBe('tcp-from-low-range');
    expect(v.reason).toContain('49152-65535');
  });

  it('a datagram from a privileged port to a NodePort is undetermined only when the given ephemeral range reaches the NodePorts', () => {
    // DNS's answer to client port 31000, or a datagram to NodePort 31000: with Linux's default range (32768-60999)
    // the kernel never picks 31000 for a client, so it is the NodePort; a node whose range was widened could
    const line = `Apr 22 10:00:16 harvester3 ${H} SRC=192.168.122.1 DST=192.168.122.63 LEN=42 TOS=0x00 PREC=0x00 TTL=64 ID=61203 PROTO=UDP SPT=53 DPT=31000 LEN=22 `;
    expect(classifyPacket(eventOf(line), ctx)).toMatchObject({ verdict: 'genuine-block', rule: 'udp-to-service', service: 'NodePort' });
    const wide = { ...ctx, ephemeral: { from: 1024, to: 65535 } };
    const v = classifyPacket(eventOf(line), wide);
    expect(v).toMatchObject({ verdict: 'undetermined', rule: 'udp-reply-or-nodeport', server: 'dst', service: 'NodePort' });
    expect(v.reason).toContain('the answer to our own request whose conntrack state was lost, or a datagram to a NodePort service: cannot tell');
    expect(v.reason).toContain('net.ipv4.ip_local_reserved_ports=30000-32767');
    // from a client port (not privileged) it is a datagram to the NodePort whatever the range
    expect(classifyPacket(eventOf(line.replace('SPT=53', 'SPT=40000')), wide)).toMatchObject({ verdict: 'genuine-block', rule: 'udp-to-service' });
  });

  it('uses an injected service lookup (the role catalog)', () => {
    const line = `Apr 22 10:00:09 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=44312 DPT=12345 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    const v = classifyPacket(eventOf(line), { ...ctx, services: (p, port) => (p === 'tcp' && port === 12345 ? 'my service' : undefined) });
    expect(v.service).toBe('my service');
    expect(v.reason).toContain('the rule for a known service is missing');
  });

  it('with the catalog: DHCPv6 relays (547 → 547) are no same-port doubt; a lost packet to a loopback-only port gets no "check the rule" hint', () => {
    const cat = { ...ctx, services: catalogServiceLookup('generic') };
    const relay = `Apr 22 10:00:16 harvester3 ${H} SRC=fd00:0000:0000:0000:0000:0000:0000:0001 DST=fd00:0000:0000:0000:0000:0000:0000:0063 LEN=120 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=547 DPT=547 LEN=80 `;
    expect(classifyPacket(eventOf(relay), cat)).toMatchObject({ verdict: 'genuine-block', rule: 'udp-to-service', service: 'dhcpv6-server' });
    const ntp = relay.replaceAll('547', '123');
    expect(classifyPacket(eventOf(ntp), cat)).toMatchObject({ verdict: 'undetermined', rule: 'udp-same-port' });
    const lo = `Apr 22 10:00:05 harvester3 ${H} SRC=192.168.122.64 DST=192.168.122.63 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=2 DF PROTO=TCP SPT=43707 DPT=10257 WINDOW=501 RES=0x00 ACK URGP=0 `;
    const v = classifyPacket(eventOf(lo), cat);
    expect(v).toMatchObject({ verdict: 'conntrack-loss', rule: 'tcp-to-service', service: 'kube-controller-manager' });
    expect(v.reason).not.toContain('check that this node has one');
    expect(classifyPacket(eventOf(lo.replace('DPT=10257', 'DPT=6443')), cat).reason).toContain('check that this node has one');
  });

  it('IPv6: ICMPv6 neighbour solicitation and echo, addresses in short form', () => {
    const ns = `Apr 22 10:00:23 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=33:33:ff:00:00:63:52:54:00:3a:7c:61:86:dd SRC=fe80:0000:0000:0000:5054:00ff:fe3a:7c61 DST=ff02:0000:0000:0000:0000:0001:ff00:0063 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=135 CODE=0 `;
    const v = classifyPacket(eventOf(ns), ctx);
    expect(v.verdict).toBe('genuine-block');
    expect(v.service).toBe('ICMPv6 neighbour discovery');
    expect(v.reason).toContain('fe80::5054:ff:fe3a:7c61');
  });

  it('IPv6: multicast listener discovery, the MLDv2 report (143) Linux sends too', () => {
    const mld = (type: number, dst: string) => `Apr 22 10:00:23 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=33:33:00:00:00:16:52:54:00:3a:7c:61:86:dd SRC=fe80:0000:0000:0000:5054:00ff:fe3a:7c61 DST=${dst} LEN=76 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=${type} CODE=0 `;
    for (const [type, dst] of [[143, 'ff02:0000:0000:0000:0000:0000:0000:0016'], [131, 'ff02:0000:0000:0000:0000:0000:0000:0001'], [130, 'ff02:0000:0000:0000:0000:0000:0000:0001']] as const) {
      const v = classifyPacket(eventOf(mld(type, dst)), ctx);
      expect([v.verdict, v.rule, v.service], `type ${type}`).toEqual(['genuine-block', 'icmp-neighbour-discovery', 'ICMPv6 multicast listener']);
    }
    expect(classifyPacket(eventOf(mld(144, 'ff02:0000:0000:0000:0000:0000:0000:0016')), ctx).service).toBe('ICMPv6 type 144');
  });
});

describe('a server on the far side is named by the well-known names first', () => {
  // the platform catalog says what this node (192.168.122.63) serves; 198.18.5.5 and .62 are other hosts
  const harvester = { ...ctx, services: catalogServiceLookup('harvester') };
  const tcp = (iface: string, src: string, dst: string, spt: number, dpt: number, flags: string) =>
    `Apr 22 10:12:21 harvester3 kernel: HARVESTER_DROP_${iface} MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:61:08:00 SRC=${src} DST=${dst} LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=65160 RES=0x00 ${flags} URGP=0 `;
  const IN = 'IN=mgmt-br OUT=';
  const OUT = 'IN= OUT=mgmt-br';
  const FWD = 'IN=vnet0 OUT=mgmt-br';
  const NODE = '192.168.122.63';
  const cases: ReadonlyArray<readonly [string, string, Partial<ReturnType<typeof classifyPacket>>]> = [
    // the node connected to a remote HTTPS server; a conntrack flush lost the connection
    ['remote server answers (in)', tcp(IN, '198.18.5.5', NODE, 443, 34339, 'ACK PSH'), { verdict: 'conntrack-loss', rule: 'tcp-from-service', server: 'src', service: 'https' }],
    ['the node sends to it (out)', tcp(OUT, NODE, '198.18.5.5', 34339, 443, 'ACK PSH'), { verdict: 'conntrack-loss', rule: 'tcp-to-service', server: 'dst', service: 'https' }],
    ['the node connects to it (out)', tcp(OUT, NODE, '198.18.5.5', 34339, 443, 'SYN'), { verdict: 'genuine-block', rule: 'tcp-syn', server: 'dst', service: 'https' }],
    ['SYN ACK of a remote server (in)', tcp(IN, '198.18.5.5', NODE, 443, 34339, 'ACK SYN'), { verdict: 'conntrack-loss', rule: 'tcp-syn-ack', server: 'src', service: 'https' }],
    // this node's own HTTPS keeps the platform's name, whichever way its packet went
    ['a client connects to the node (in)', tcp(IN, '198.18.5.5', NODE, 34339, 443, 'SYN'), { verdict: 'genuine-block', server: 'dst', service: 'Harvester UI HTTPS' }],
    ['a client sends to the node (in)', tcp(IN, '198.18.5.5', NODE, 34339, 443, 'ACK'), { verdict: 'conntrack-loss', rule: 'tcp-to-service', server: 'dst', service: 'Harvester UI HTTPS' }],
    ['the node answers a client (out)', tcp(OUT, NODE, '198.18.5.5', 443, 34339, 'ACK FIN'), { verdict: 'conntrack-loss', rule: 'tcp-from-service', server: 'src', service: 'Harvester UI HTTPS' }],
    // forwarded: neither side is the node, and a hostPort's pod serves what the catalog says: the node's names
    ['forwarded', tcp(FWD, '198.18.5.5', '10.52.0.7', 443, 34339, 'ACK PSH'), { verdict: 'conntrack-loss', server: 'src', service: 'Harvester UI HTTPS' }],
    // a peer node's etcd and kubelet keep a meaningful name (generic's)
    ['a peer\'s etcd (in)', tcp(IN, '192.168.122.62', NODE, 2379, 51234, 'ACK'), { verdict: 'conntrack-loss', server: 'src', service: 'etcd client' }],
    ['a peer\'s kubelet (out)', tcp(OUT, NODE, '192.168.122.62', 51234, 10250, 'ACK'), { verdict: 'conntrack-loss', server: 'dst', service: 'kubelet API' }],
    // a port the generic table does not name keeps the platform's name
    ['a peer\'s RKE2 supervisor (in)', tcp(IN, '192.168.122.62', NODE, 9345, 51234, 'ACK'), { verdict: 'conntrack-loss', server: 'src', service: harvester.services('tcp', 9345)! }],
  ];
  for (const [what, line, want] of cases) {
    it(what, () => expect(classifyPacket(eventOf(line), harvester)).toMatchObject(want));
  }

  it('a peer\'s UDP port is the well-known name too, and without a platform there is one table', () => {
    const vxlan = `Apr 22 10:12:21 harvester3 kernel: HARVESTER_DROP_IN=mgmt-br OUT= MAC=52:54:00:3a:7c:63:52:54:00:3a:7c:61:08:00 SRC=198.18.5.5 DST=${NODE} LEN=120 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=8472 DPT=8472 LEN=100 `;
    const k3s = { ...ctx, services: catalogServiceLookup('k3s') };
    // a datagram to this node's VXLAN port: the node's name; from a peer's 8472 to an ephemeral port: generic's
    expect(classifyPacket(eventOf(vxlan), k3s)).toMatchObject({ server: 'dst', service: 'Flannel VXLAN' });
    expect(classifyPacket(eventOf(vxlan.replace('DPT=8472', 'DPT=40000')), k3s)).toMatchObject({ server: 'src', rule: 'udp-from-service', service: 'VXLAN (Linux kernel default: flannel, Canal, Cilium)' });
    const none = { ...ctx, services: catalogServiceLookup() };
    expect(none.services.remote).toBeUndefined();
    expect(classifyPacket(eventOf(cases[0]![1]), none).service).toBe('https');
  });

  it('verdicts, rules and server sides are those of the node\'s names alone: a port is known to both tables or to neither', () => {
    for (const platform of ['harvester', 'rke2', 'k3s', 'kubeadm', 'talos', 'konvoy', 'cni']) {
      const l = catalogServiceLookup(platform);
      const remote = l.remote!;
      const differ: string[] = [];
      for (const proto of ['tcp', 'udp']) {
        for (let p = 1; p < 65536; p++) if ((remote(proto, p) === undefined) !== (l(proto, p) === undefined)) differ.push(`${proto}/${p}`);
      }
      expect(differ, platform).toEqual([]);
      const own: VerdictContext = { ...ctx, services: Object.assign((proto: string, port: number) => l(proto, port), { loopbackOnly: l.loopbackOnly! }) };
      const both: VerdictContext = { ...ctx, services: l };
      for (const [, line] of cases) {
        for (const flags of ['ACK', 'SYN', 'ACK SYN', 'ACK RST', 'FIN']) {
          const e = eventOf(line.replace(/RES=0x00 .* URGP/, `RES=0x00 ${flags} URGP`));
          const a = classifyPacket(e, own);
          const b = classifyPacket(e, both);
          expect([b.verdict, b.rule, b.server, b.service === undefined]).toEqual([a.verdict, a.rule, a.server, a.service === undefined]);
        }
      }
    }
  });
});
