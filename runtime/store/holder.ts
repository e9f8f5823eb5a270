/**
 * Who holds a lease: this machine's name and this process's identity, and whether a holder on this machine is
 * still the process that took the lease. Shared by the stores, so both free a dead local holder's lease at once.
 */
import * as fs from "node:fs";
import * as os from "node:os";

export const HOST = os.hostname();

/** What /proc/<pid>/stat says of a process: its state letter and its start time; undefined where there is no /proc. */
function processStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): 3 is the state, 22 the start time
    // in clock ticks since boot.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

/** This process's start time: with the pid, it tells a reused pid from the holder. */
export const OWN_START = processStat(process.pid)?.start;

/**
 * A zombie (`Z`: exited, not yet reaped by its parent) or a dying process (`X`) holds nothing: where PID 1 does
 * not reap, a dead holder stays a zombie for good.
 */
const DEAD_STATES = new Set(["Z", "X", "x"]);

export function processAlive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = processStat(pid);
  if (stat === undefined) return true;
  if (DEAD_STATES.has(stat.state)) return false;
  return start === undefined || stat.start === start;
}

/** Who holds a lease, as the stores record it. */
export interface LeaseHolder {
  readonly runner: string;
  readonly host: string;
  readonly pid: number;
}

/** The stores that can name a lease's holder (both built-in ones); the Store interface itself does not ask it. */
interface NamesHolder {
  holder(id: string): Promise<LeaseHolder | undefined>;
}

/** `runner-12 (pid 12 on host-a)`, or undefined when the store cannot say. */
export async function describeHolder(store: object, id: string): Promise<string | undefined> {
  if (typeof (store as Partial<NamesHolder>).holder !== "function") return undefined;
  const holder = await (store as NamesHolder).holder(id);
  return holder && `${holder.runner} (pid ${holder.pid} on ${holder.host})`;
}
