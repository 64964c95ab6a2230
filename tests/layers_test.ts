/**
 * Keeps the layers of `lib/` honest: a file may import its own layer or a
 * lower one, never a higher one, and nothing from outside the project but
 * `node:` built-ins (zero third-party dependencies).
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * From the bottom up. A folder of `lib/` is one layer; files directly in
 * `lib/` (the server's assembly and its configuration) are the top.
 * Layers on one rank may import each other.
 */
const RANKS: readonly (readonly string[])[] = [
  ["util"],
  ["telemetry", "redis"],
  ["protocol"],
  ["core", "store", "auth"],
  ["realtime"],
  ["http"],
  [""],
];

const LIB = new URL("../lib/", import.meta.url);

function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function rankOf(layer: string): number {
  return RANKS.findIndex((rank) => rank.includes(layer));
}

/** The import specifiers of a module's source: static, re-exports and dynamic. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;()=`]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/**
 * What is wrong with one import of `file` (a path relative to `lib/`), or
 * `undefined` when it is allowed.
 */
export function checkImport(file: string, specifier: string): string | undefined {
  if (specifier.startsWith("node:")) return undefined;
  if (!specifier.startsWith(".")) {
    return `lib/${file} imports "${specifier}": only node: built-ins and project files are allowed`;
  }
  const target = new URL(specifier, new URL(file, LIB)).pathname;
  if (!target.startsWith(LIB.pathname)) {
    return `lib/${file} imports "${specifier}", which is outside lib/`;
  }
  const from = layerOf(file);
  const to = layerOf(target.slice(LIB.pathname.length));
  if (rankOf(from) === -1) return `lib/${file} is in a folder no layer names: add it to RANKS`;
  if (rankOf(to) === -1) return `lib/${file} imports "${specifier}", in a folder no layer names`;
  if (rankOf(to) > rankOf(from)) {
    return `lib/${file} (layer ${from || "lib/"}) imports "${specifier}" ` +
      `from the higher layer ${to || "lib/"}`;
  }
  return undefined;
}

async function libFiles(dir = LIB, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      files.push(...await libFiles(new URL(`${entry.name}/`, dir), `${path}/`));
    } else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

Deno.test("layers: no file in lib/ imports a higher layer or a third-party module", async () => {
  const files = await libFiles();
  assert.ok(files.length > 15, `found the files of lib/ (${files.length})`);
  const problems: string[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(new URL(file, LIB));
    for (const specifier of importsOf(source)) {
      const problem = checkImport(file, specifier);
      if (problem) problems.push(problem);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("layers: the check names the file and the import that break the rule", () => {
  assert.equal(
    checkImport("util/channel.ts", "../realtime/hub.ts"),
    'lib/util/channel.ts (layer util) imports "../realtime/hub.ts" from the higher layer realtime',
  );
  assert.match(checkImport("core/topics.ts", "../server.ts")!, /higher layer lib\//);
  assert.match(checkImport("http/api.ts", "jsr:@std/assert")!, /only node: built-ins/);
  assert.match(checkImport("http/api.ts", "../../main.ts")!, /outside lib/);
  assert.equal(checkImport("realtime/hub.ts", "../store/mailbox.ts"), undefined);
  assert.equal(checkImport("store/mailbox.ts", "../core/topics.ts"), undefined);
  assert.equal(checkImport("server.ts", "./http/api.ts"), undefined);
  assert.equal(checkImport("util/fifo.ts", "node:assert/strict"), undefined);
});

Deno.test("layers: every kind of import is found", () => {
  const source = [
    'import { a } from "./a.ts";',
    "import type { B } from '../b.ts';",
    'import {\n  c,\n  d,\n} from "./cd.ts";',
    'export { e } from "./e.ts";',
    'import "./side_effect.ts";',
    'const f = await import("./f.ts");',
  ].join("\n");
  assert.deepEqual(importsOf(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./cd.ts",
    "./e.ts",
    "./f.ts",
    "./side_effect.ts",
  ]);
});
