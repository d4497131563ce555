/**
 * Where the daemon's CPU goes, from per-thread counters in /proc/<pid>/task. Thread names seen in
 * the daemon (Node 20, chdb 3.4) under `npm run bench`, and the groups they count in:
 *  - js: the main thread (tid == pid, named `node`), which runs all JavaScript.
 *  - node workers: the other `node` threads, V8's platform pool (GC, compilation) and libuv pool
 *    threads (UV_THREADPOOL_SIZE=16) that have not run the engine yet. Newer Node/libuv name them
 *    `V8 DefaultWorke` / `libuv-worker`; those count here too.
 *  - engine insert: `Unknown`, the libuv pool threads once chdb has run a query on them (the engine
 *    renames them): parsing the inserted rows, the insert pipeline, writing parts. Also ClickHouse's
 *    global pool threads, `ThreadPool` when idle and renamed by each job (`QueryPipelineEx`,
 *    `QueryCompPipeEx`…), which exit when idle for a while.
 *  - merges: `MergeMutate` (merging small parts), `BgSchPool` / `BgStrmSchPool` (scheduling merges
 *    and cleanups), `Common`, `Move`, `Fetch`.
 *  - other: `MemoryWorker`, `PoolDelayExec`, `DictReload` and any name not listed here.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type ThreadGroup = 'js' | 'node' | 'insert' | 'merges' | 'other';
export const THREAD_GROUPS: readonly ThreadGroup[] = ['js', 'node', 'insert', 'merges', 'other'];

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

export interface ThreadSample {
  /** Whole process: live threads plus every thread that has exited. */
  totalS: number;
  threads: Map<number, { name: string; cpuS: number }>;
}

export interface ThreadSplit {
  totalS: number;
  groups: Record<ThreadGroup, number>;
  /** CPU seconds and thread counts by thread name (main thread as `node (main)`). */
  byName: Map<string, { cpuS: number; threads: number }>;
  /** Threads present at the start and gone at the end. */
  exited: number;
}

/** utime + stime from a /proc stat line, in seconds (fields 14 and 15; the name may hold spaces). */
function statCpu(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

export function sampleThreads(pid: number): ThreadSample {
  const threads = new Map<number, { name: string; cpuS: number }>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${entry}`;
      threads.set(Number(entry), { name: readFileSync(`${dir}/comm`, 'utf8').trim(), cpuS: statCpu(readFileSync(`${dir}/stat`, 'utf8')) });
    } catch {
      // exited between the listing and the read
    }
  }
  return { totalS: statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8')), threads };
}

function groupOf(tid: number, pid: number, name: string): ThreadGroup {
  if (tid === pid) return 'js';
  if (/^(node|libuv|V8|DelayedTask|Signal|inspector)/i.test(name)) return 'node';
  if (/Merge|SchPool|^(Common|Move|Fetch)$/.test(name)) return 'merges';
  if (/ThreadPool|Query|Pipe|Insert|Pars|Unknown|Collector|Squash/i.test(name)) return 'insert';
  return 'other';
}

/**
 * The CPU used between two samples, by group. A thread that exited in between took its last
 * counts with it: whatever the process total has beyond the live threads' sum is theirs, and is
 * counted as engine insert work, since the only threads that come and go under load are
 * ClickHouse's global pool threads (threads born and gone inside the phase are counted the same way).
 */
export function threadSplit(pid: number, start: ThreadSample, end: ThreadSample): ThreadSplit {
  const groups: Record<ThreadGroup, number> = { js: 0, node: 0, insert: 0, merges: 0, other: 0 };
  const byName = new Map<string, { cpuS: number; threads: number }>();
  let counted = 0;
  for (const [tid, { name, cpuS }] of end.threads) {
    const used = cpuS - (start.threads.get(tid)?.cpuS ?? 0);
    groups[groupOf(tid, pid, name)] += used;
    counted += used;
    const label = tid === pid ? 'node (main)' : name;
    const entry = byName.get(label) ?? { cpuS: 0, threads: 0 };
    entry.cpuS += used;
    entry.threads++;
    byName.set(label, entry);
  }
  const totalS = end.totalS - start.totalS;
  const unseen = Math.max(0, totalS - counted);
  groups.insert += unseen;
  if (unseen > 0) byName.set('(exited threads)', { cpuS: unseen, threads: 0 });
  const exited = [...start.threads.keys()].filter((tid) => !end.threads.has(tid)).length;
  return { totalS, groups, byName, exited };
}

/** "node (main) 3.41 s, node ×25 1.20 s, …", busiest first, threads that used nothing left out. */
export function describeByName(split: ThreadSplit): string {
  return [...split.byName]
    .filter(([, v]) => v.cpuS > 0)
    .sort((a, b) => b[1].cpuS - a[1].cpuS)
    .map(([name, v]) => `${name}${v.threads > 1 ? ` ×${v.threads}` : ''} ${v.cpuS.toFixed(2)} s`)
    .join(', ');
}
