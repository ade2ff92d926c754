#!/usr/bin/env bash
# smoke-scenario.sh — the live scenario behind lab-smoke.test.ts (root only; about 5 s):
#   1. TCP SYN from peer:40001 to node:10250, dropped and logged with prefix $SMOKE_SYN_PREFIX;
#   2. the node, a client of peer:9345 (server writes every 0.2 s), flushes its conntrack table mid-stream:
#      the server's next data segments (ACK PSH) are logged with prefix $SMOKE_MID_PREFIX.
# Prints the captured /dev/kmsg records as "SYN<TAB>record" / "MID<TAB>record"; exit 0 even if none were seen
# (the test judges). Everything runs in fwfx-smk-* namespaces and is removed on exit.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=netns.sh
source "$HERE/netns.sh"

SYN_PREFIX="${SMOKE_SYN_PREFIX:?}" MID_PREFIX="${SMOKE_MID_PREFIX:?}"
lab_require_root
lab_init "${SMOKE_TAG:-fwfx-smk-}"
lab_trap
lab_modules
lab_nflog_enable
lab_up

# The seed's structure on the node: ESTABLISHED,RELATED accept, ICMP accept, a role port, LOG, DROP.
fw() {
  local prefix="$1"
  lab_exec node iptables -F FWFX_INPUT 2>/dev/null || lab_exec node iptables -N FWFX_INPUT
  lab_exec node iptables -C INPUT -i eth0 -j FWFX_INPUT 2>/dev/null || lab_exec node iptables -A INPUT -i eth0 -j FWFX_INPUT
  lab_exec node iptables -A FWFX_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  lab_exec node iptables -A FWFX_INPUT -p icmp -j ACCEPT
  lab_exec node iptables -A FWFX_INPUT -p tcp --dport 22 -j ACCEPT
  lab_exec node iptables -A FWFX_INPUT -j LOG --log-prefix "$prefix"
  lab_exec node iptables -A FWFX_INPUT -j DROP
}

# 1. SYN to a port the rules do not open (nc gives up after 1 s).
fw "$SYN_PREFIX"
seq="$(lab_kmsg_seq)"
lab_exec peer timeout 3 nc -z -w 1 -p 40001 "$LAB_NODE4" 10250 || true
lab_kmsg_wait "$seq" 1 2 "$SYN_PREFIX" >/dev/null
lab_kmsg_since "$seq" "$SYN_PREFIX" | sed 's/^/SYN\t/'

# 2. Mid-stream after conntrack -F. tcp_loose=0 in the node: otherwise the node's own ACKs after the flush could
# let conntrack pick the flow up again (the "self-healing" of real hosts) and nothing would be dropped.
fw "$MID_PREFIX"
lab_sysctl node net.netfilter.nf_conntrack_tcp_loose 0
lab_bg peer timeout 6 socat "TCP-LISTEN:9345,bind=$LAB_PEER4,reuseaddr" \
  SYSTEM:'i=0; while [ $i -lt 25 ]; do echo data$i; i=$((i+1)); sleep 0.2; done'
sleep 0.3
lab_bg node timeout 6 socat -u "TCP:$LAB_PEER4:9345,sourceport=46100" OPEN:/dev/null
sleep 0.7
seq="$(lab_kmsg_seq)"
lab_exec node conntrack -F >/dev/null 2>&1
lab_kmsg_wait "$seq" 1 3 "$MID_PREFIX" >/dev/null
lab_kmsg_since "$seq" "$MID_PREFIX" | sed 's/^/MID\t/'
lab_sysctl_restore
