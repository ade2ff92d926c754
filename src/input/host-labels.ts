/**
 * What to call the machine of lines that name none (dmesg, /dev/kmsg captures): `report` and `suggest` put it on
 * their events, so their drops are a host's (and `--host-role HOST=ROLE` can name it).
 */
import { basename, dirname, resolve, sep } from 'node:path';
import type { LineSource } from './types.js';

/** A file's name without directories and compression or log suffix: `node1/dmesg.txt.gz` → `dmesg`. */
function fileStem(name: string): string {
  return basename(name).replace(/\.(gz|log|txt)$/i, '').replace(/\.(log|txt)$/i, '') || name;
}

/**
 * Host labels for lines without a host, one per source: the source's machine (/dev/kmsg: this one), else the file's
 * stem. Files whose stems collide (`node1/dmesg.txt`, `node2/dmesg.txt`: one capture per node, the usual layout)
 * would be one host, their drops merged: each is named by the shortest run of its directories that tells it apart
 * from the others (`node1/dmesg`, `node2/dmesg`), by the absolute path, so `../dmesg.txt` names its directory too.
 * Files of one directory and stem (`dmesg.log`, `dmesg.log.gz`) are one machine's and keep one label.
 */
export function hostLabelsOf(sources: readonly LineSource[]): string[] {
  const stems = sources.map((s) => (s.host !== undefined ? s.host : s.name === '-' ? 'stdin' : fileStem(s.name)));
  const files = sources.map((s, i) => (s.host === undefined && s.name !== '-' ? i : -1)).filter((i) => i >= 0);
  const byStem = new Map<string, number[]>();
  for (const i of files) {
    const g = byStem.get(stems[i]!);
    if (g === undefined) byStem.set(stems[i]!, [i]);
    else g.push(i);
  }
  const labels = [...stems];
  for (const [stem, group] of byStem) {
    // directories, root first ('' for the root itself, so /x/dmesg and /y/x/dmesg differ too)
    const dirs = group.map((i) => dirname(resolve(sources[i]!.name)).split(sep));
    const distinct = new Set(dirs.map((d) => d.join('/')));
    if (distinct.size < 2) continue;
    const suffix = (d: string[], k: number) => d.slice(Math.max(0, d.length - k)).join('/');
    group.forEach((i, n) => {
      const mine = dirs[n]!;
      const others = dirs.filter((d) => d.join('/') !== mine.join('/'));
      let k = 1;
      while (k < mine.length && others.some((d) => suffix(d, k) === suffix(mine, k))) k++;
      labels[i] = `${suffix(mine, k)}/${stem}`;
    });
  }
  return labels;
}
