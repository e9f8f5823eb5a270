/**
 * Who holds a lease: this machine's name and this process's identity, and whether a holder on this machine is
 * still the process that took the lease. Shared by the stores, so both free a dead local holder's lease at once.
 */
import * as fs from "node:fs";
import * as os from "node:os";

export const HOST = os.hostname();

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** This process's start time: with the pid, it tells a reused pid from the holder. */
export const OWN_START = processStart(process.pid);

export function processAlive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const actual = start === undefined ? undefined : processStart(pid);
  return actual === undefined || actual === start;
}
