#!/usr/bin/env bash
# kmsg-flood.sh — how much of a flood of real LOG lines `--kmsg` reads before the kernel overwrites its ring buffer.
#
#   sudo bench/kmsg-flood.sh MODE [RUNS] [PACKETS] [RATE]
#     MODE     parse    `fwdiag parse --kmsg --prefix P`: the events it prints
#              analyze  `fwdiag analyze --kmsg --summary --prefix P`: its summary's events and input.overwritten
#              live     `fwdiag --kmsg --prefix P`, the live view, in a tmux terminal: its summary after `q`
#     RUNS     default 3; PACKETS default 100000; RATE (datagrams a second) default 50000
#   FWDIAG=/path/to/bin/fwdiag.js picks the build (default: this checkout's).
#
# Per run: a namespace "peer" sends PACKETS UDP datagrams at RATE to a closed port of a namespace "node", whose
# INPUT logs each one (LOG --log-prefix P) and drops it. The total is the LOG rule's packet counter (datagrams the
# veth dropped before INPUT were never logged); read = the flood's events fwdiag delivered; the line printed is
#   MODE run N: read R of T (P %), lost L (overwritten, as fwdiag counted them)
#
# Needs root and net.netfilter.nf_log_all_netns=1 (LOG writes nothing for a non-initial namespace otherwise): the
# script checks it and never changes it. Namespaces fwfx-kf-*, addresses 198.18.0.0/24, removed on exit (lab_trap).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../test/lab/netns.sh
source "$here/../test/lab/netns.sh"

mode="${1:-}"
[[ "$mode" =~ ^(parse|analyze|live)$ ]] || { echo "usage: kmsg-flood.sh parse|analyze|live [RUNS] [PACKETS] [RATE]" >&2; exit 2; }
runs="${2:-3}"
packets="${3:-100000}"
rate="${4:-50000}"
bin="${FWDIAG:-$here/../bin/fwdiag.js}"
prefix=FWDIAGTEST_
work="$(mktemp -d /tmp/fwdiag-kf.XXXXXX)"
sock="$work/tmux.sock"

lab_require_root
[[ "$(cat /proc/sys/net/netfilter/nf_log_all_netns)" == 1 ]] || lab_die "net.netfilter.nf_log_all_netns is not 1 (not changed here)"
lab_init fwfx-kf-
lab_trap
lab_on_exit "tmux -S '$sock' kill-server 2>/dev/null; rm -rf '$work'"

# bounded in count and time: PACKETS datagrams, paced at RATE, at most 30 s
SENDER='
import socket, sys, time
dst, n, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic(); sent = 0
while sent < n and time.monotonic() - t0 < 30:
    due = min(n, int((time.monotonic() - t0) * rate) + 1)
    while sent < due:
        try:
            s.sendto(b"x", (dst, 9))
        except OSError:
            break
        sent += 1
    time.sleep(0.0005)
print(sent, round(time.monotonic() - t0, 2))
'

# pid of the process in a tmux pane or a child: wait until it holds /dev/kmsg open (it reads from then on)
holds_kmsg() {
  local pid="$1" fd
  for _ in $(seq 200); do
    for fd in /proc/"$pid"/fd/*; do
      [[ "$(readlink "$fd" 2>/dev/null)" == /dev/kmsg ]] && return 0
    done
    sleep 0.05
  done
  lab_die "pid $pid never opened /dev/kmsg"
}

flood() {
  lab_exec peer python3 -c "$SENDER" "$LAB_NODE4" "$packets" "$rate" >"$work/sent"
  # let the reader drain what the ring buffer still holds
  sleep 2
}

# The machine may be shared: wait (up to 2 min) until the CPUs have been ~idle for a second, and say how idle.
cpu_idle() {
  local a b
  read -r -a a < /proc/stat
  sleep 1
  read -r -a b < /proc/stat
  awk -v i0="${a[4]}" -v i1="${b[4]}" -v t0="$(IFS=+; echo "$(( ${a[*]:1} ))")" -v t1="$(IFS=+; echo "$(( ${b[*]:1} ))")" \
    'BEGIN { printf "%d", 100 * (i1 - i0) / (t1 - t0) }'
}
wait_idle() {
  local idle
  for _ in $(seq 60); do
    idle="$(cpu_idle)"
    (( idle >= 90 )) && break
    sleep 1
  done
  echo "$idle"
}

logged() { lab_exec node iptables -w -L INPUT -v -x -n | awk -v p="$prefix" '$0 ~ p { print $1; exit }'; }

for run in $(seq "$runs"); do
  lab_up
  lab_exec node iptables -w -A INPUT -p udp --dport 9 -j LOG --log-prefix "$prefix"
  lab_exec node iptables -w -A INPUT -p udp --dport 9 -j DROP
  idle="$(wait_idle)"
  case "$mode" in
    parse | analyze)
      if [[ "$mode" == parse ]]; then
        node "$bin" parse --kmsg --prefix "$prefix" >"$work/out" 2>"$work/err" &
      else
        node "$bin" analyze --kmsg --summary --json --prefix "$prefix" >"$work/out" 2>"$work/err" &
      fi
      pid=$!
      # killed by lab_down should this run fail before its end
      LAB_BG_PIDS+=("$pid")
      holds_kmsg "$pid"
      flood
      kill -INT "$pid"
      wait "$pid" || true
      if [[ "$mode" == parse ]]; then
        read_n="$(grep -c "\"prefix\":\"$prefix\"" "$work/out" || true)"
        lost='-'
      else
        read_n="$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).summary; console.log(s.events, s.input.overwritten ?? 0)' "$work/out")"
        lost="${read_n#* }"
        read_n="${read_n% *}"
      fi
      ;;
    live)
      tmux -S "$sock" new-session -d -s live -x 160 -y 45 \
        "sh -c 'echo \$\$ > $work/pid; exec env -u CI NO_COLOR=1 FWDIAG_VIEW_STATS=$work/stats node \"$bin\" --kmsg --prefix $prefix'; echo EXIT=\$?; sleep 600"
      for _ in $(seq 100); do [[ -s "$work/pid" ]] && break; sleep 0.1; done
      holds_kmsg "$(cat "$work/pid")"
      sleep 1
      flood
      tmux -S "$sock" send-keys -t live q
      for _ in $(seq 100); do tmux -S "$sock" capture-pane -p -J -t live -S -200 | grep -q 'EXIT=' && break; sleep 0.1; done
      tmux -S "$sock" capture-pane -p -J -t live -S -200 >"$work/out"
      tmux -S "$sock" kill-server 2>/dev/null || true
      rm -f "$work/pid"
      read_n="$(sed -n 's/.*Summary: \([0-9]*\) drops\?.*/\1/p' "$work/out")"
      lost="$(sed -n 's/^ *\([0-9]*\) kernel log records\? lost.*/\1/p' "$work/out")"
      lost="${lost:-0}"
      ;;
  esac
  total="$(logged)"
  read -r sent secs <"$work/sent"
  stats=""
  [[ ! -s "$work/stats" ]] || stats="; view stats $(cat "$work/stats")"
  echo "$mode run $run: read ${read_n:-?} of $total ($(awk -v r="${read_n:-0}" -v t="$total" 'BEGIN { printf "%.1f", 100 * r / t }') %), lost $lost; sent $sent in $secs s; CPU idle before ${idle} %$stats"
  rm -f "$work/stats"
  lab_down
done
