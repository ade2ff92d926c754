#!/usr/bin/env bash
# cluster.sh — a small Harvester-like cluster in network namespaces, driven through real traffic whose true verdict
# is known, for classifier-lab.test.ts ("proof on a real kernel"). Root only; about 15 s of traffic.
#
#   FWCL_PREFIX=HARVESTER_DROP_1a2b3c_ FWCL_TRUTH=/tmp/truth.json test/lab/cluster.sh </dev/null
#   optional: FWCL_TAG (namespace tag, default fwfx-cl-), FWCL_NET (default 198.19.201), FWCL_KMSG_OUT (raw records)
#
# Topology (namespaces $FWCL_TAG*, addresses $FWCL_NET.0/24 only; host numbers below): a switch namespace "sw"
# holding bridge br0, and six hosts, each with one veth "mgmt-br" plugged into br0:
#   cp1 .11  control-plane   rules: the seed's control-plane chain WITHOUT 2380 (etcd peer)
#   cp2 .12  control-plane   rules: the seed's control-plane chain WITHOUT 9345 (RKE2 supervisor)
#   w1  .21  worker          rules: the seed's worker chain WITHOUT 8472/udp (VXLAN)
#   out1 .101, out2 .102, out3 .103: outside hosts, no firewall (out1 scans with SYNs, out3 with UDP; out2 probes a
#   few ports and serves an application on 7443 and NFS on 2049)
# Every node's HARVESTER_INPUT ends in LOG (prefix FWCL_PREFIX, no rate limit: every drop must be logged) + DROP.
#
# Protocol with the caller (so that it can start its /dev/kmsg reader between set-up and traffic):
#   stdout "READY <prefix>"  lab built, rules loaded; then one line is read from stdin (EOF also means go)
#   stdout "DONE <n>"        traffic over; n = /dev/kmsg records with the prefix so far; the ground truth is in
#                            FWCL_TRUTH and the raw records in FWCL_KMSG_OUT (if set); then one more stdin line (or
#                            EOF) ends the run. Everything is deleted on any exit (trap): namespaces, background
#                            jobs, per-namespace sysctls, and nf_log_all_netns goes back to what it was.
#
# Ground truth (FWCL_TRUTH): {"prefix", "nodes": {name: address}, "flows": [{scenario, node, host, proto, server,
# serverPort, client, verdict, serviceKnown, note}]} — one entry per flow the scenarios create, keyed like fwdiag's
# flows: (proto, server, serverPort, client). host is null: /dev/kmsg lines carry no hostname; node is the
# namespace whose LOG rule writes the lines. Scan flows have serverPort null (fwdiag folds a scanner's probes of one
# target into one flow).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=netns.sh
source "$HERE/netns.sh"
TRAFFIC="$ROOT/fixtures/kernel/traffic.py"
PY="${PYTHON:-python3}"

PREFIX="${FWCL_PREFIX:-HARVESTER_DROP_$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')_}"
# iptables allows 29 characters; the run id keeps lines from other runs (or other labs) out of our counts.
[[ "$PREFIX" =~ ^HARVESTER_DROP_[0-9a-f]{6}_$ ]] || { echo "cluster.sh: FWCL_PREFIX must be HARVESTER_DROP_<6 hex>_" >&2; exit 2; }
TRUTH="${FWCL_TRUTH:-/dev/null}"
KMSG_OUT="${FWCL_KMSG_OUT:-}"

lab_require_root
command -v "$PY" >/dev/null || { echo "cluster.sh: needs $PY" >&2; exit 1; }
command -v socat >/dev/null || { echo "cluster.sh: needs socat" >&2; exit 1; }
# netns.sh insists on the fwfx- family of tags (lab_down deletes only those): ours is fwfx-cl-.
lab_init "${FWCL_TAG:-fwfx-cl-}"
lab_trap
lab_modules
lab_down

# The /24 all addresses come from; the caller picks one per run so that two runs (or another lab) sharing the kernel
# log cannot mix their flows.
NET="${FWCL_NET:-198.19.201}"
[[ "$NET" =~ ^198\.19\.([0-9]{1,3})$ && ${BASH_REMATCH[1]} -le 255 ]] || { echo "cluster.sh: FWCL_NET must be 198.19.N" >&2; exit 2; }
declare -A ADDR=([cp1]=$NET.11 [cp2]=$NET.12 [w1]=$NET.21 [out1]=$NET.101 [out2]=$NET.102 [out3]=$NET.103)
declare -A MACID=([cp1]=11 [cp2]=12 [w1]=21 [out1]=65 [out2]=66 [out3]=67)
NODES=(cp1 cp2 w1 out1 out2 out3)

# ---- topology ------------------------------------------------------------------------------------------------------
lab_ns sw
lab_exec sw sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
for n in "${NODES[@]}"; do
  lab_ns "$n"
  # IPv6 off: no router/neighbour solicitations, so the only packets the chains see are the ones we send.
  lab_exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
  lab_veth "$n" mgmt-br sw "$n" "02:00:c6:13:c9:${MACID[$n]}" "02:00:c6:13:ca:${MACID[$n]}"
  lab_addr "$n" mgmt-br "${ADDR[$n]}/24"
done
lab_bridge sw br0 "${NODES[@]}"

# ---- rules: the seed's HARVESTER_INPUT, role by role, minus the deliberately missing ports -----------------------------
# harvester_chain NODE ROLE SKIP... — SKIP entries are "proto/port" rows left out (the missing rules).
harvester_chain() {
  local node="$1" role="$2"; shift 2
  local skip=" $* " row proto port comment
  local -a rows
  if [[ "$role" == control-plane ]]; then
    rows=("tcp/22/SSH" "tcp/80/Harvester UI HTTP" "tcp/443/Harvester UI HTTPS" "tcp/2112/kube-vip Prometheus metrics"
          "tcp/2379/etcd client" "tcp/2380/etcd peer" "tcp/6443/Kubernetes API server" "tcp/9091/calico-node metrics"
          "tcp/9345/RKE2 supervisor API" "tcp/9796/node-exporter metrics" "tcp/10250/kubelet API"
          "tcp/30000:32767/NodePort TCP range" "udp/30000:32767/NodePort UDP range" "udp/8472/VXLAN (Flannel/Canal)"
          "tcp/8080/kube-ovn-webhook HTTP" "tcp/8443/kube-ovn-webhook HTTPS" "tcp/6641:6644/OVN NB/SB DB, Northd, Raft"
          "tcp/10661/kube-ovn-monitor metrics" "tcp/10665/kube-ovn-daemon" "udp/4789/VXLAN (Kube-OVN)")
  else
    rows=("tcp/22/SSH" "tcp/80/Harvester UI HTTP" "tcp/443/Harvester UI HTTPS" "tcp/9091/calico-node metrics"
          "tcp/9796/node-exporter metrics" "tcp/10250/kubelet API" "tcp/30000:32767/NodePort TCP range"
          "udp/30000:32767/NodePort UDP range" "udp/8472/VXLAN (Flannel/Canal)" "tcp/8080/kube-ovn-webhook HTTP"
          "tcp/8443/kube-ovn-webhook HTTPS" "tcp/10660/kube-ovn-controller" "tcp/10665/kube-ovn-daemon"
          "udp/4789/VXLAN (Kube-OVN)")
  fi
  local ipt=(lab_exec "$node" iptables)
  "${ipt[@]}" -N HARVESTER_INPUT
  "${ipt[@]}" -A INPUT -i mgmt-br -j HARVESTER_INPUT
  "${ipt[@]}" -A HARVESTER_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment "Accept return traffic from established connections" -j ACCEPT
  "${ipt[@]}" -A HARVESTER_INPUT -p icmp -m comment --comment "ICMP" -j ACCEPT
  "${ipt[@]}" -A HARVESTER_INPUT -p udp --sport 67 --dport 68 -m comment --comment "DHCP server reply" -j ACCEPT
  "${ipt[@]}" -A HARVESTER_INPUT -p udp --sport 68 --dport 67 -m comment --comment "DHCP client request" -j ACCEPT
  for row in "${rows[@]}"; do
    IFS=/ read -r proto port comment <<<"$row"
    # The seed's 2379:2380 is split into two rows above so that one of them can go missing on its own.
    [[ "$skip" == *" $proto/$port "* ]] && continue
    "${ipt[@]}" -A HARVESTER_INPUT -p "$proto" --dport "$port" -m comment --comment "$comment" -j ACCEPT
  done
  # The seed rate-limits LOG (10/min); the lab must see every drop, so no limit here.
  "${ipt[@]}" -A HARVESTER_INPUT -m comment --comment "Log dropped packets" -j LOG --log-prefix "$PREFIX" --log-level 4
  "${ipt[@]}" -A HARVESTER_INPUT -m comment --comment "Drop all other traffic" -j DROP
  # No loose pick-up: a packet the node itself sends after the flush must not re-create the lost conntrack entry
  # (the self-healing of real hosts) while the scenario is still watching for drops.
  lab_sysctl "$node" net.netfilter.nf_conntrack_tcp_loose 0
}
harvester_chain cp1 control-plane tcp/2380
harvester_chain cp2 control-plane tcp/9345
harvester_chain w1 worker udp/8472

# ---- ground truth --------------------------------------------------------------------------------------------------
TRUTH_ROWS=()
# truth SCENARIO NODE PROTO SERVER SERVERPORT(or null) CLIENT VERDICT SERVICE_KNOWN NOTE
# (SERVER may also be an address: a broadcast or multicast group)
truth() {
  TRUTH_ROWS+=("$(printf '{"scenario":"%s","node":"%s","host":null,"proto":"%s","server":"%s","serverPort":%s,"client":"%s","verdict":"%s","serviceKnown":%s,"note":"%s"}' \
    "$1" "$2" "$3" "${ADDR[$4]:-$4}" "$5" "${ADDR[$6]}" "$7" "$8" "$9")")
}
write_truth() {
  local nodes="" n rows
  for n in "${NODES[@]}"; do nodes+="${nodes:+,}\"$n\":\"${ADDR[$n]}\""; done
  rows="$(IFS=,; printf '%s' "${TRUTH_ROWS[*]}")"
  printf '{"prefix":"%s","nodes":{%s},"flows":[%s]}\n' "$PREFIX" "$nodes" "$rows" >"$TRUTH"
}

tr_() { local ns="$1"; shift; lab_exec "$ns" "$PY" "$TRAFFIC" "$@"; }
# midstream MODE SERVER PORT CLIENT CLIENTPORT [WINDOW] — traffic.py drives both ends (setns) and flushes conntrack in
# the CLIENT's namespace; the server's next packets reach the client with no state and are logged there.
midstream() {
  "$PY" "$TRAFFIC" midstream --server-ns "$(lab_nsname "$2")" --client-ns "$(lab_nsname "$4")" \
    --server-addr "${ADDR[$2]}" --server-port "$3" --client-port "$5" --mode "$1" --window "${6:-1.7}"
}

# udp_reply SERVER PORT CLIENT CLIENTPORT — a UDP request/reply driven by one process in both namespaces (setns, as
# traffic.py does): the server socket is bound before the request leaves, the client flushes its own conntrack table
# right after sending, and only then does the server answer (twice): both answers find no state.
udp_reply() {
  "$PY" - "$(lab_nsname "$1")" "${ADDR[$1]}" "$2" "$(lab_nsname "$3")" "$4" "$(dirname "$TRAFFIC")" <<'PYEOF'
import socket, subprocess, sys
sys.path.insert(0, sys.argv[6])
from traffic import setns
server_ns, server_addr, port, client_ns, client_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
setns(server_ns)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((server_addr, port))
s.settimeout(3)
setns(client_ns)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(("0.0.0.0", client_port))
c.sendto(b"ping", (server_addr, port))
data, peer = s.recvfrom(512)
subprocess.run(["ip", "netns", "exec", client_ns, "conntrack", "-F"], check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(2):
    s.sendto(b"pong" + data, peer)
c.settimeout(0.5)
try:
    c.recv(512)
    sys.exit("udp_reply: an answer got through the flushed client")
except socket.timeout:
    pass
PYEOF
}

# burst NS PROTO DST SPORT_BASE PORT... — one process probes many ports at once (the lab host has few CPUs; a process
# per probe would stretch a one-second scan over many seconds): TCP connect attempts from SPORT_BASE+i, abandoned
# after 0.6 s (one SYN each, never answered), or one UDP datagram each.
burst() {
  lab_exec "$1" "$PY" - "$2" "$3" "$4" "${@:5}" <<'PYEOF'
import socket, struct, sys, time
proto, dst, base, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(p) for p in sys.argv[4:]]
socks = []
for i, port in enumerate(ports):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", base + i))
    if proto == "tcp":
        s.setblocking(False)
        try:
            s.connect((dst, port))
        except BlockingIOError:
            pass
    else:
        s.sendto(b"probe", (dst, port))
    socks.append(s)
time.sleep(0.6 if proto == "tcp" else 0.05)
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
PYEOF
}

# chatter SENDER GROUP... — LAN chatter as desktops send it: a NetBIOS name query to the subnet's broadcast address
# (udp 137 → 137) and an mDNS query to 224.0.0.251 (udp 5353 → 5353). Every firewalled node first joins the mDNS
# group on mgmt-br, as a host running avahi or systemd-resolved has: without a member the kernel drops multicast
# before INPUT, and nothing is logged.
chatter() {
  local sender="$1" n
  for n in cp1 cp2 w1; do
    lab_exec "$n" "$PY" - "${ADDR[$n]}" <<'PYEOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton(sys.argv[1])))
time.sleep(1.5)
s.close()
PYEOF
  done
  sleep 0.5
  lab_exec "$sender" "$PY" - "$NET.255" "${ADDR[$sender]}" <<'PYEOF'
import socket, sys
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
b.bind((sys.argv[2], 137))
b.sendto(b"\x00" * 50, (sys.argv[1], 137))
m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[2]))
m.bind((sys.argv[2], 5353))
m.sendto(b"\x00" * 40, ("224.0.0.251", 5353))
PYEOF
  wait
}

lab_nflog_enable
echo "READY $PREFIX"
read -r -t 60 _go || true
lab_nflog_enable
SEQ0="$(lab_kmsg_seq)"
T0=$(date +%s%N)

# ==== phase 1: conntrack loss (one client namespace per job: a flush must never hit another job's handshake) =====
# 1a. cp2 is a client of the API server on cp1:6443, which pushes a line every 0.2 s (socat: two real processes).
#     cp2's conntrack table is flushed mid-stream: the pushes (ACK PSH) and, when the timeouts end both sides, the
#     teardown reach cp2 without state.
(
  lab_bg cp1 timeout 4 socat "TCP-LISTEN:6443,bind=${ADDR[cp1]},reuseaddr" \
    SYSTEM:'i=0; while [ $i -lt 15 ]; do echo push$i; i=$((i+1)); sleep 0.2; done'
  # the client retries until the listener is up, and the flush waits for the connection, however slow the host
  lab_bg cp2 timeout 3.5 socat -u "TCP:${ADDR[cp1]}:6443,sourceport=46101,retry=20,interval=0.1" OPEN:/dev/null
  for _ in $(seq 30); do
    [[ -n "$(lab_exec cp2 ss -Htn state established "dst ${ADDR[cp1]}:6443")" ]] && break
    sleep 0.1
  done
  sleep 0.5
  lab_exec cp2 conntrack -F >/dev/null 2>&1
  wait
) &
J1=$!
# 1b. w1 is a client of the kubelet on cp1:10250; after w1's flush the server closes: ACK FIN (and retransmissions).
#     Then w1 mounts an NFS export of an outside server (out2:2049, e.g. a backup target) the way the kernel NFS
#     client does, from a reserved source port below 1024; after w1's flush the server's replies are dropped.
(
  midstream fin cp1 10250 w1 46102
  midstream psh out2 2049 w1 702
) &
J2=$!
# 1c. cp1 is a client of etcd on cp2:2379; after cp1's flush the server aborts: ACK RST.
midstream rst cp2 2379 cp1 46103 &
J3=$!
wait "$J1" "$J2" "$J3"
echo "cluster.sh: phase 1 took $(( ($(date +%s%N) - T0) / 1000000 )) ms" >&2
truth conntrack-loss cp2 tcp cp1 6443 cp2 conntrack-loss true "server pushes ACK PSH after conntrack -F in the client (socat)"
truth conntrack-loss w1 tcp cp1 10250 w1 conntrack-loss true "server closes (ACK FIN) after conntrack -F in the client"
truth conntrack-loss w1 tcp out2 2049 w1 conntrack-loss true "NFS server pushes to a reserved client port (702) after conntrack -F in the client"
truth conntrack-loss cp1 tcp cp2 2379 cp1 conntrack-loss true "server aborts (ACK RST) after conntrack -F in the client"

# ==== phase 2: the rest, in parallel ==================================================================================
# A flush only hurts connections whose CLIENT lives in the flushed namespace (server-bound packets match the role
# port rules whatever their state), so each midstream job below has a client namespace of its own.
# 1d. cp2 is a client of the kubelet on w1:10250; after cp2's flush the server sends keepalives: pure ACK.
midstream ack w1 10250 cp2 46104 2.4 &
truth conntrack-loss cp2 tcp w1 10250 cp2 conntrack-loss true "server keepalive probes (pure ACK) after conntrack -F in the client"
# 1e. w1 is a client of an outside application on out2:7443, a port no catalog knows; after w1's flush the server
#     writes: the ephemeral client port is the only hint of direction.
midstream psh out2 7443 w1 46105 &
truth conntrack-loss w1 tcp out2 7443 w1 conntrack-loss false "unknown server port pushes ACK PSH after conntrack -F in the client"
# 1f. cp1 is a client of a NodePort service on cp2:30443; after cp1's flush the server closes (ACK FIN). Then cp1
#     asks a UDP NodePort service on w1:30053 and flushes before the answer comes: the reply is dropped.
(
  midstream fin cp2 30443 cp1 46106
  udp_reply w1 30053 cp1 45001
) &
truth conntrack-loss cp1 tcp cp2 30443 cp1 conntrack-loss true "NodePort server closes (ACK FIN) after conntrack -F in the client"
truth conntrack-loss cp1 udp w1 30053 cp1 conntrack-loss true "UDP NodePort reply after conntrack -F in the client"

# 2. genuine blocks: the missing rules, hit by real connection attempts from several hosts (SYN + one retransmit).
tr_ cp2 syn --dst "${ADDR[cp1]}" --dport 2380 --sport 47001 --wait 1.5 &
tr_ w1 syn --dst "${ADDR[cp1]}" --dport 2380 --sport 47002 --wait 1.5 &
tr_ w1 syn --dst "${ADDR[cp2]}" --dport 9345 --sport 47003 --wait 1.5 &
tr_ cp1 udp --dst "${ADDR[w1]}" --dport 8472 --sport 8472 --count 3 --size 50 &
truth genuine-block cp1 tcp cp1 2380 cp2 genuine-block true "SYN to the missing etcd peer port"
truth genuine-block cp1 tcp cp1 2380 w1 genuine-block true "SYN to the missing etcd peer port, second host"
truth genuine-block cp2 tcp cp2 9345 w1 genuine-block true "SYN to the missing RKE2 supervisor port"
truth genuine-block w1 udp w1 8472 cp1 genuine-block true "VXLAN datagrams to the missing 8472/udp"

# 3. scan: out1 probes 14 closed ports on w1 at once (threshold: 10 distinct ports in 60 s), then 2 ports on cp1 —
#    a known scanner's probes of another host are scan traffic too.
SCAN_PORTS=(3000 3001 4000 4001 5000 5002 7000 7001 8000 8001 8888 9000 9001 9999)
(
  burst out1 tcp "${ADDR[w1]}" 48000 "${SCAN_PORTS[@]}"
  sleep 0.2
  burst out1 tcp "${ADDR[cp1]}" 48100 4444 5555
) &
truth scan w1 tcp w1 null out1 scan false "SYNs to ${#SCAN_PORTS[@]} distinct closed ports within a second"
truth scan cp1 tcp cp1 null out1 scan false "the same scanner then touches 2 ports on cp1"

# 3b. out3 scans cp2 with single UDP datagrams to 12 closed ports (below the ephemeral range, outside NodePorts).
UDP_SCAN_PORTS=(2000 2001 2002 3003 4004 5005 6006 7007 8008 9009 11011 12012)
burst out3 udp "${ADDR[cp2]}" 41000 "${UDP_SCAN_PORTS[@]}" &
truth scan cp2 udp cp2 null out3 scan false "UDP datagrams to ${#UDP_SCAN_PORTS[@]} distinct closed ports within a second"

# 4. a few random ports touched by another outside host: not enough for a scan, so genuine blocks of unknown ports.
burst out2 tcp "${ADDR[cp1]}" 49001 7777 4321 &
tr_ out2 udp --dst "${ADDR[cp1]}" --dport 5999 --sport 49003 --count 2 --size 20 &
truth random-ports cp1 tcp cp1 7777 out2 genuine-block false "one SYN to an unknown port"
truth random-ports cp1 tcp cp1 4321 out2 genuine-block false "one SYN to an unknown port"
truth random-ports cp1 udp cp1 5999 out2 genuine-block false "datagrams to an unknown port"

# 5. LAN chatter from out2, logged by every firewalled node: broadcast and multicast to ports no catalog names.
chatter out2 &
truth chatter cp1 udp "$NET.255" 137 out2 broadcast true "NetBIOS name query to the subnet broadcast address (logged on cp1, cp2, w1)"
truth chatter cp1 udp 224.0.0.251 5353 out2 broadcast true "mDNS query to 224.0.0.251 (logged on cp1, cp2, w1)"

wait
write_truth
# Late kernel retransmissions may still add lines to flows above; the count is what the caller waits for.
sleep 0.3
N="$(lab_kmsg_since "$SEQ0" "$PREFIX" | grep -c . || true)"
if [[ -n "$KMSG_OUT" ]]; then lab_kmsg_since "$SEQ0" "$PREFIX" >"$KMSG_OUT" || true; fi
echo "cluster.sh: traffic took $(( ($(date +%s%N) - T0) / 1000000 )) ms, $N kernel line(s) with $PREFIX" >&2
echo "DONE $N"
read -r -t 60 _stop || true
