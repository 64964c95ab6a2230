/**
 * One benchmark at a time on this machine: two runs sharing two cores would
 * each measure the other. The lock is a file holding the owner's pid, so a
 * run that was killed leaves a lock the next run can see is stale.
 *
 * @module
 */

const LOCK = "/tmp/huayi-im-bench.lock";

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function tryLock(): boolean {
  try {
    Deno.writeTextFileSync(LOCK, String(Deno.pid), { createNew: true });
    return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const owner = Number(Deno.readTextFileSync(LOCK).trim());
  if (owner && alive(owner)) return false;
  // Stale: its owner is gone. Whoever removes it first takes it on the next try.
  Deno.removeSync(LOCK);
  return false;
}

/**
 * Waits (up to `timeoutMs`) until no other benchmark holds the machine, then
 * holds it until `unlock` is called or this process exits.
 *
 * @example Usage
 * ```ts ignore
 * await lockMachine();
 * try { await measureEverything(); } finally { unlockMachine(); }
 * ```
 */
export async function lockMachine(timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`another benchmark still holds ${LOCK}`);
    if (!told) console.error(`waiting for another benchmark to finish (${LOCK}) …`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Releases the machine if this process holds it. */
export function unlockMachine(): void {
  try {
    if (Number(Deno.readTextFileSync(LOCK).trim()) === Deno.pid) Deno.removeSync(LOCK);
  } catch {
    // Not held.
  }
}
