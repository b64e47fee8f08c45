/**
 * What /proc says about a process: CPU time (user + system, all threads) and
 * resident memory. Linux only, which is where the gateway runs.
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux we target

export interface ProcSample {
  /** Wall clock, ms (performance.now of the caller). */
  at: number;
  /** CPU seconds used so far. */
  cpuSec: number;
  rssBytes: number;
  /** Peak RSS so far. */
  hwmBytes: number;
  /** The main thread's scheduler times so far, where the kernel keeps them. */
  main?: ThreadSched;
}

/** Seconds a thread spent on a CPU, and runnable but waiting for one. */
export interface ThreadSched {
  runSec: number;
  waitSec: number;
}

/**
 * The main thread's times from /proc/<pid>/task/<pid>/schedstat. A server whose
 * work sits on one thread is bound by it once run + wait comes near one core:
 * the wait is time it was ready but another thread or process held the CPU.
 */
export function mainThreadSched(pid: number): ThreadSched | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return { runSec: run! / 1e9, waitSec: wait! / 1e9 };
  } catch {
    return undefined; // no schedstat (kernel without CONFIG_SCHEDSTATS) or the process is gone
  }
}

/** The main thread's run and wait between two samples, in cores (1.0 = all of the window). */
export function mainThreadShare(a: ProcSample, b: ProcSample): { runCores: number; waitCores: number } | undefined {
  if (!a.main || !b.main) return undefined;
  const sec = (b.at - a.at) / 1000;
  return { runCores: (b.main.runSec - a.main.runSec) / sec, waitCores: (b.main.waitSec - a.main.waitSec) / sec };
}

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

export function memory(pid: number): { rssBytes: number; hwmBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

export function sample(pid: number): ProcSample {
  const main = mainThreadSched(pid);
  return { at: performance.now(), cpuSec: cpuSeconds(pid), ...memory(pid), ...(main ? { main } : {}) };
}

/** CPU use between two samples, as a fraction of one core (1.0 = one core busy). */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return (b.cpuSec - a.cpuSec) / ((b.at - a.at) / 1000);
}

/** CPU seconds the whole machine has been busy (all cores; idle and iowait excluded). */
export function machineBusySec(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}
