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


def paced(count, after_step=None):
    """Writes `count` lines at `rate` in steps of `step`, from now; returns (t0, t1, worst behind schedule, time
    blocked in write, longest write), in seconds; `after_step(written)` after each step."""
    global pos
    t0 = time.time()
    written = 0
    worst = blocked = worstw = 0.0
    while written < count:
        due = t0 + written / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        else:
            worst = max(worst, now - due)
        k = min(step, count - written)
        chunk = chunk_of(k)
        tw = time.time()
        while len(chunk) > 0:
            w = os.write(1, chunk)
            chunk = chunk[w:]
        bw = time.time() - tw
        blocked += bw
        worstw = max(worstw, bw)
        pos = (pos + k) % n
        written += k
        if after_step is not None:
            after_step(written)
    return t0, time.time(), worst, blocked, worstw


wait_for(go)
if pre > 0:
    log.write('prestart %d\n' % int(time.time() * 1000))
    paced(pre)
    log.write('pre %d\n' % int(time.time() * 1000))
    log.flush()
    wait_for(go2)
log.write('start %d\n' % int(time.time() * 1000))
t0, t1, worst, blocked, worstw = paced(total, lambda written: log.write('%d %d\n' % (int(time.time() * 1000), written)))
log.write('done %d %d %d %d %d\n' % (int(t1 * 1000), int((t1 - t0) * 1000), int(worst * 1000), int(blocked * 1000), int(worstw * 1000)))
log.close()
