/**
 * How much disk a data directory takes: the restart scenario's bytes per
 * stored entry.
 *
 * @module
 */

/** A directory's files and their total size. */
export interface DirectorySize {
  /** Sum of the regular files' sizes (apparent sizes, as `ls -l` shows), bytes. */
  bytes: number;
  /** Each file's path relative to the directory, and its size, largest first. */
  files: { path: string; bytes: number }[];
}

/**
 * Sums the sizes of every regular file under `dir`, recursively (symbolic
 * links are not followed).
 *
 * @example Usage
 * ```ts ignore
 * const { bytes, files } = await directorySize("/tmp/huayi-bench-x");
 * ```
 */
export async function directorySize(dir: string): Promise<DirectorySize> {
  const files: { path: string; bytes: number }[] = [];
  const walk = async (path: string, relative: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(full, name);
      else if (entry.isFile) files.push({ path: name, bytes: (await Deno.lstat(full)).size });
    }
  };
  await walk(dir, "");
  files.sort((a, b) => b.bytes - a.bytes);
  return { bytes: files.reduce((total, file) => total + file.bytes, 0), files };
}

/**
 * Bytes per item, NaN when there are none.
 *
 * @example Usage
 * ```ts
 * import { perItem } from "./disk.ts";
 * perItem(1_000_000, 4000); // 250
 * perItem(1000, 0); // NaN
 * ```
 */
export function perItem(bytes: number, items: number): number {
  return items > 0 ? bytes / items : NaN;
}
