# The producer of the live-view lag measurements (bench/live-lag.mjs, test/view/tmux-lag.test.ts): writes lines of
# FILE to stdout at RATE lines/s in 1 ms steps, TOTAL lines (FILE over and over), paced on the wall clock from the
# moment the file GO appears. Its writes block when the pipe is full, so falling behind its schedule is what a
# reader holding the writer back looks like.
#
#   python3 lag-producer.py FILE RATE TOTAL LOG GO [PRE GO2]
#
# LOG gets `start MS`, then `MS WRITTEN` after every step, then
# `done END_MS SPENT_MS WORST_BEHIND_SCHEDULE_MS BLOCKED_IN_WRITE_MS LONGEST_WRITE_MS`.
# With PRE: a warm-up first — PRE lines at RATE from GO on, logged as `prestart MS` and `pre END_MS` (flushed) — then,
# once the file GO2 appears, the TOTAL lines above, FILE going on where the warm-up stopped.
import os, sys, time
data = open(sys.argv[1], 'rb').read()
rate, total, log, go = int(sys.argv[2]), int(sys.argv[3]), open(sys.argv[4], 'w'), sys.argv[5]
pre, go2 = (int(sys.argv[6]), sys.argv[7]) if len(sys.argv) > 7 else (0, None)
offs = [0]
i = data.find(b'\n')
while i >= 0:
    offs.append(i + 1)
    i = data.find(b'\n', i + 1)
n = len(offs) - 1
mv = memoryview(data)
step = max(1, rate // 1000)
pos = 0


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.01)


def chunk_of(k):
    end = pos + k
    if end <= n:
        return mv[offs[pos]:offs[end]]
    return bytes(mv[offs[pos]:]) + bytes(mv[:offs[end - n]])


def write_all(chunk):
    while len(chunk) > 0:
        w = os.write(1, chunk)
        chunk = chunk[w:]


wait_for(go)
if pre > 0:
    t0 = time.time()
    log.write('prestart %d\n' % int(t0 * 1000))
    done_pre = 0
    while done_pre < pre:
        due = t0 + done_pre / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        k = min(step, pre - done_pre)
        write_all(chunk_of(k))
        pos = (pos + k) % n
        done_pre += k
    log.write('pre %d\n' % int(time.time() * 1000))
    log.flush()
    wait_for(go2)
t0 = time.time()
log.write('start %d\n' % int(t0 * 1000))
written = 0
worst = 0.0
blocked = 0.0
worstw = 0.0
while written < total:
    due = t0 + written / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    else:
        worst = max(worst, now - due)
    k = min(step, total - written)
    chunk = chunk_of(k)
    tw = time.time()
    write_all(chunk)
    bw = time.time() - tw
    blocked += bw
    worstw = max(worstw, bw)
    pos = (pos + k) % n
    written += k
    log.write('%d %d\n' % (int(time.time() * 1000), written))
t1 = time.time()
log.write('done %d %d %d %d %d\n' % (int(t1 * 1000), int((t1 - t0) * 1000), int(worst * 1000), int(blocked * 1000), int(worstw * 1000)))
log.close()
