# shellcheck shell=bash
# netns.sh — a sourceable library to build throw-away test hosts in network namespaces and to read the
# kernel's netfilter LOG lines they cause from /dev/kmsg.
#
#   source test/lab/netns.sh
#   lab_require_root
#   lab_init fwfx-cap-          # every namespace this run creates is named fwfx-cap-<name>
#   lab_trap                    # lab_down on EXIT/INT/TERM/HUP, also when a command fails under set -e
#   lab_nflog_enable            # net.netfilter.nf_log_all_netns=1 (refcounted; restored by lab_down)
#   lab_up                      # the default two-host lab: "peer" <-> "node" (see lab_up)
#   seq=$(lab_kmsg_seq)
#   ... traffic ...
#   lab_kmsg_wait "$seq" 2 3 'MYPREFIX_'   # wait up to 3 s for 2 records containing MYPREFIX_
#   lab_kmsg_since "$seq" 'MYPREFIX_'      # raw records "prio,seq,usec,flag;message"
#
# Rules every user must keep (they are enforced where cheap):
# - namespace names start with "fwfx-" and with the caller's tag; lab_down deletes every namespace with the tag;
# - IPv4 addresses only from 198.18.0.0/15, IPv6 only from 2001:db8::/32, and only inside our namespaces:
#   veth pairs are created directly between two lab namespaces, never in the host namespace;
# - firewall rules only through `lab_exec NS iptables …` / `nft` (never on the host);
# - sysctls: nf_log_all_netns is global (refcounted through a lock file so that two labs running at once do not
#   switch it off under each other); per-namespace sysctls set with lab_sysctl are restored by lab_down even though
#   the namespace dies with them.
#
# The library works under `set -euo pipefail`: every optional variable is read with a default, and functions
# return non-zero only on real failure.

# Guard against double sourcing (a test may source it, then a helper sources it again).
if [[ -n "${__FWFX_LAB_SOURCED:-}" ]]; then return 0; fi
__FWFX_LAB_SOURCED=1

LAB_TAG="${LAB_TAG:-}"
# Where the nf_log_all_netns refcount lives; /run is tmpfs, so a reboot resets it together with the sysctl.
LAB_LOCK_DIR="${LAB_LOCK_DIR:-/run/fwfx-lab}"
LAB_NFLOG_HELD=0
# Per-namespace sysctl restore list: entries "ns<TAB>key<TAB>old", newest last.
LAB_SYSCTL_SAVED=()
LAB_BG_PIDS=()
# Extra cleanup commands (strings, eval'd) run by the exit trap after lab_down; see lab_on_exit.
LAB_EXIT_HOOKS=()

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() { printf 'lab: error: %s\n' "$*" >&2; return 1; }

lab_require_root() {
  if [[ "$(id -u)" != 0 ]]; then
    lab_die "must run as root (network namespaces, iptables and /dev/kmsg need CAP_NET_ADMIN/CAP_SYSLOG)"
    return 1
  fi
  local t
  for t in ip iptables ip6tables nft conntrack dd; do
    command -v "$t" >/dev/null 2>&1 || { lab_die "missing tool: $t"; return 1; }
  done
}

# lab_init TAG — TAG must start with "fwfx-" and contain only [a-z0-9-]; short, because namespace names are
# used in /run/netns paths and messages.
lab_init() {
  local tag="${1:-}"
  if [[ ! "$tag" =~ ^fwfx-[a-z0-9-]{0,20}$ ]]; then
    lab_die "tag '$tag' must match ^fwfx-[a-z0-9-]{0,20}\$"
    return 1
  fi
  LAB_TAG="$tag"
}

__lab_need_tag() { [[ -n "${LAB_TAG:-}" ]] || { lab_die "call lab_init TAG first"; return 1; }; }

# Full namespace name for a short name.
lab_nsname() { __lab_need_tag && printf '%s%s' "$LAB_TAG" "$1"; }

# lab_exec SHORT cmd... — run a command inside one of our namespaces.
lab_exec() {
  __lab_need_tag || return 1
  local ns="$LAB_TAG$1"; shift
  ip netns exec "$ns" "$@"
}

# lab_ns SHORT — create namespace TAG+SHORT with lo up, IPv6 DAD off (addresses usable at once) and the
# per-namespace conntrack helpers default. Fails if it exists (lab_down first).
lab_ns() {
  __lab_need_tag || return 1
  local ns="$LAB_TAG$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # DAD would keep freshly added IPv6 addresses "tentative" for ~1 s; the lab wants them immediately.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
}

# lab_veth NS1 IF1 NS2 IF2 [MAC1 MAC2] — a veth pair created directly between two lab namespaces (never in the
# host namespace), both ends up. Fixed MACs make the kernel's MAC= field predictable.
lab_veth() {
  __lab_need_tag || return 1
  local n1="$LAB_TAG$1" i1="$2" n2="$LAB_TAG$3" i2="$4" m1="${5:-}" m2="${6:-}"
  ip -n "$n1" link add "$i1" type veth peer name "$i2" netns "$n2"
  [[ -z "$m1" ]] || ip -n "$n1" link set dev "$i1" address "$m1"
  [[ -z "$m2" ]] || ip -n "$n2" link set dev "$i2" address "$m2"
  ip -n "$n1" link set "$i1" up
  ip -n "$n2" link set "$i2" up
}

# lab_addr NS IF CIDR — only 198.18.0.0/15 and 2001:db8::/32 are accepted.
lab_addr() {
  __lab_need_tag || return 1
  local ns="$LAB_TAG$1" dev="$2" cidr="$3"
  if [[ "$cidr" == *:* ]]; then
    [[ "${cidr,,}" =~ ^2001:0?db8: ]] || { lab_die "IPv6 $cidr not in 2001:db8::/32"; return 1; }
    ip -n "$ns" -6 addr add "$cidr" dev "$dev" nodad
  else
    [[ "$cidr" =~ ^198\.1[89]\. ]] || { lab_die "IPv4 $cidr not in 198.18.0.0/15"; return 1; }
    ip -n "$ns" addr add "$cidr" dev "$dev"
  fi
}

lab_mtu() { __lab_need_tag && ip -n "$LAB_TAG$1" link set dev "$2" mtu "$3"; }

# lab_bridge NS BR [PORT...] — a Linux bridge inside NS with the given ports enslaved; STP off and forward delay 0
# so ports forward at once.
lab_bridge() {
  __lab_need_tag || return 1
  local ns="$LAB_TAG$1" br="$2"; shift 2
  ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0
  local p
  for p in "$@"; do ip -n "$ns" link set "$p" master "$br"; done
  ip -n "$ns" link set "$br" up
}

# lab_sysctl NS KEY VALUE — set a per-namespace sysctl, remembering the old value for lab_down.
lab_sysctl() {
  __lab_need_tag || return 1
  local short="$1" key="$2" val="$3" old
  old="$(ip netns exec "$LAB_TAG$short" sysctl -n "$key")"
  LAB_SYSCTL_SAVED+=("$short"$'\t'"$key"$'\t'"$old")
  ip netns exec "$LAB_TAG$short" sysctl -qw "$key=$val" >/dev/null
}

# lab_sysctl_restore — put back every per-namespace sysctl changed with lab_sysctl, newest first.
lab_sysctl_restore() { __lab_sysctl_restore_all; }

__lab_sysctl_restore_all() {
  local i entry short key old
  for (( i=${#LAB_SYSCTL_SAVED[@]}-1; i>=0; i-- )); do
    entry="${LAB_SYSCTL_SAVED[$i]}"
    IFS=$'\t' read -r short key old <<<"$entry"
    if ip netns list 2>/dev/null | grep -q "^$LAB_TAG$short\\b"; then
      ip netns exec "$LAB_TAG$short" sysctl -qw "$key=$old" >/dev/null 2>&1 || true
    fi
  done
  LAB_SYSCTL_SAVED=()
}

# ---- net.netfilter.nf_log_all_netns (global) ----------------------------------------------------------------
# Without it the kernel writes no LOG line for packets in namespaces other than the initial one.
# Refcount: LAB_LOCK_DIR/nflog.orig holds the value found by the first holder, LAB_LOCK_DIR/nflog.<pid> one
# file per live holder; the last holder out (dead holders are pruned) writes the original value back.
__lab_nflog_locked() {
  mkdir -p "$LAB_LOCK_DIR"
  (
    flock -w 10 9 || exit 1
    "$@"
  ) 9>"$LAB_LOCK_DIR/nflog.lock"
}

__lab_nflog_prune() {
  local f pid
  for f in "$LAB_LOCK_DIR"/nflog.[0-9]*; do
    [[ -e "$f" ]] || continue
    pid="${f##*.}"
    kill -0 "$pid" 2>/dev/null || rm -f "$f"
  done
}

__lab_nflog_do_enable() {
  local holder="$1"
  __lab_nflog_prune
  if ! compgen -G "$LAB_LOCK_DIR/nflog.[0-9]*" >/dev/null || [[ ! -e "$LAB_LOCK_DIR/nflog.orig" ]]; then
    cat /proc/sys/net/netfilter/nf_log_all_netns >"$LAB_LOCK_DIR/nflog.orig"
  fi
  : >"$LAB_LOCK_DIR/nflog.$holder"
  echo 1 >/proc/sys/net/netfilter/nf_log_all_netns
}

__lab_nflog_do_restore() {
  local holder="$1"
  rm -f "$LAB_LOCK_DIR/nflog.$holder"
  __lab_nflog_prune
  if ! compgen -G "$LAB_LOCK_DIR/nflog.[0-9]*" >/dev/null; then
    if [[ -e "$LAB_LOCK_DIR/nflog.orig" ]]; then
      cat "$LAB_LOCK_DIR/nflog.orig" >/proc/sys/net/netfilter/nf_log_all_netns
      rm -f "$LAB_LOCK_DIR/nflog.orig"
    fi
  fi
}

# lab_nflog_enable — read nf_log_all_netns, remember it (first holder only), set 1. Safe to call again before
# every scenario: someone else's restore may have switched it off meanwhile.
lab_nflog_enable() {
  __lab_nflog_locked __lab_nflog_do_enable "$$" || { lab_die "cannot take $LAB_LOCK_DIR/nflog.lock"; return 1; }
  LAB_NFLOG_HELD=1
}

lab_nflog_restore() {
  [[ "${LAB_NFLOG_HELD:-0}" == 1 ]] || return 0
  __lab_nflog_locked __lab_nflog_do_restore "$$" || true
  LAB_NFLOG_HELD=0
}

# ---- lab lifecycle ----------------------------------------------------------------------------------------
# lab_up [TAG] — the default lab: namespaces "peer" and "node" joined by a veth pair (peer:eth0 <-> node:eth0)
#   peer eth0: 198.18.0.1/24 2001:db8:18::1/64 02:00:c6:12:00:01
#   node eth0: 198.18.0.2/24 2001:db8:18::2/64 02:00:c6:12:00:02
# Callers add more namespaces/links with lab_ns/lab_veth/lab_addr.
LAB_PEER4=198.18.0.1 LAB_NODE4=198.18.0.2
LAB_PEER6=2001:db8:18::1 LAB_NODE6=2001:db8:18::2
LAB_PEER_MAC=02:00:c6:12:00:01 LAB_NODE_MAC=02:00:c6:12:00:02
lab_up() {
  [[ -z "${1:-}" ]] || lab_init "$1"
  __lab_need_tag || return 1
  lab_down
  lab_ns peer
  lab_ns node
  lab_veth peer eth0 node eth0 "$LAB_PEER_MAC" "$LAB_NODE_MAC"
  lab_addr peer eth0 "$LAB_PEER4/24"
  lab_addr node eth0 "$LAB_NODE4/24"
  lab_addr peer eth0 "$LAB_PEER6/64"
  lab_addr node eth0 "$LAB_NODE6/64"
}

# lab_bg SHORT cmd... — run a command in a namespace in the background; lab_down kills it (by pid).
lab_bg() {
  lab_exec "$@" &
  LAB_BG_PIDS+=("$!")
}

# lab_down [TAG] — idempotent: kill our background jobs, restore sysctls, delete every namespace with the tag.
lab_down() {
  [[ -z "${1:-}" ]] || LAB_TAG="$1"
  local pid ns
  for pid in "${LAB_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${LAB_BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LAB_BG_PIDS=()
  [[ -n "${LAB_TAG:-}" ]] || return 0
  __lab_sysctl_restore_all
  [[ "$LAB_TAG" == fwfx-* ]] || return 0
  while read -r ns _; do
    [[ -n "$ns" && "$ns" == "$LAB_TAG"* ]] || continue
    # Processes still inside would keep the namespace alive after the name is gone: kill them by pid.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done < <(ip netns list 2>/dev/null)
  return 0
}

__lab_on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  lab_down || true
  lab_nflog_restore || true
  local h
  for h in "${LAB_EXIT_HOOKS[@]}"; do eval "$h" || true; done
  exit "$rc"
}

# lab_on_exit 'command' — add a cleanup command for the exit trap (runs after lab_down and the sysctl restore).
lab_on_exit() { LAB_EXIT_HOOKS+=("$1"); }

# lab_trap — install the cleanup on EXIT, INT, TERM and HUP (replaces existing traps for those signals).
lab_trap() {
  trap __lab_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# ---- firewall backend ----------------------------------------------------------------------------------------
# lab_fw_backend — "nf_tables" or "legacy" (what `iptables -V` says).
lab_fw_backend() {
  local v; v="$(iptables -V 2>/dev/null)"
  if [[ "$v" == *nf_tables* ]]; then echo nf_tables; else echo legacy; fi
}

# lab_modules — load what LOG needs when it is modular; built-in kernels make every modprobe a no-op.
lab_modules() {
  local m
  for m in nf_log_syslog xt_LOG nft_log br_netfilter nf_conntrack xt_conntrack xt_mark xt_owner; do
    if [[ -d /sys/module/$m ]]; then continue; fi
    modprobe -q "$m" 2>/dev/null || true
  done
}

# lab_has_br_netfilter — true when bridge netfilter is usable (per-namespace sysctls exist).
lab_has_br_netfilter() { [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; }

# ---- /dev/kmsg ----------------------------------------------------------------------------------------------
# One read() of /dev/kmsg returns exactly one record; dd with a big block size writes each read unchanged, and
# iflag=nonblock makes it stop with EAGAIN at the end of the buffer instead of waiting. EPIPE (records
# overwritten while reading) is retried.
__lab_kmsg_dump() {
  local try out err
  for try in 1 2 3; do
    err="$(mktemp)"
    out="$(dd if=/dev/kmsg iflag=nonblock bs=65536 2>"$err" || true)"
    if ! grep -q 'Broken pipe' "$err"; then rm -f "$err"; printf '%s\n' "$out"; return 0; fi
    rm -f "$err"
  done
  printf '%s\n' "$out"
}

# lab_kmsg_seq — the sequence number of the newest record now in the kernel log (0 if empty).
lab_kmsg_seq() {
  __lab_kmsg_dump | awk -F'[,;]' '/^[0-9]+,[0-9]+,/ { s = $2 } END { print (s == "" ? 0 : s) }'
}

# lab_kmsg_since SEQ PATTERN... — record lines (continuation lines dropped) with seq > SEQ whose message contains
# any PATTERN as a fixed string; exactly as read: "prio,seq,usec,flag[,…];message".
lab_kmsg_since() {
  local since="$1"; shift
  __lab_kmsg_dump | awk -v since="$since" '
    BEGIN { n = 0 }
    FNR == NR { pats[++n] = $0; next }
    /^[0-9]+,[0-9]+,/ {
      split($0, h, ","); if (h[2] + 0 <= since + 0) next
      msg = substr($0, index($0, ";") + 1)
      for (i = 1; i <= n; i++) if (index(msg, pats[i]) > 0) { print; break }
    }' <(printf '%s\n' "$@") -
}

# lab_kmsg_wait SEQ COUNT TIMEOUT_S PATTERN... — poll until at least COUNT matching records exist or the
# timeout passes; prints the count found. Never fails (callers judge the count).
lab_kmsg_wait() {
  local since="$1" want="$2" tmo="$3"; shift 3
  local deadline=$(( $(date +%s%N) + tmo * 1000000000 )) n=0
  while :; do
    n="$(lab_kmsg_since "$since" "$@" | grep -c . || true)"
    (( n >= want )) && break
    (( $(date +%s%N) >= deadline )) && break
    sleep 0.1
  done
  echo "$n"
}
