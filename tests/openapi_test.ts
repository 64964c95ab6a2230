import assert from "node:assert/strict";
import { Close } from "../lib/protocol/close_codes.ts";
import { parseConfig } from "../lib/config.ts";
import { type ApiDependencies, routes } from "../lib/http/routes.ts";

const METHODS = new Set(["get", "head", "post", "put", "patch", "delete", "options", "trace"]);
const document = await Deno.readTextFile(new URL("../openapi.yaml", import.meta.url));

/**
 * Reads the operations from openapi.yaml: under `paths:`, a path is a key at
 * two spaces, its methods are keys at four. Enough for our own document's
 * layout, with no YAML library.
 */
function documentedOperations(yaml: string): Set<string> {
  const operations = new Set<string>();
  let inPaths = false;
  let path = "";
  for (const line of yaml.split("\n")) {
    if (/^\S/.test(line)) inPaths = line.startsWith("paths:");
    if (!inPaths) continue;
    const pathKey = line.match(/^ {2}(\/\S*):\s*$/);
    if (pathKey) path = pathKey[1];
    const method = line.match(/^ {4}([a-z]+):/);
    if (method && METHODS.has(method[1])) operations.add(`${method[1].toUpperCase()} ${path}`);
  }
  return operations;
}

Deno.test("openapi.yaml documents exactly the routes the server has", () => {
  const inCode = new Set(
    routes({} as ApiDependencies).flatMap((route) =>
      route.methods.map((method) => `${method} ${route.path}`)
    ),
  );
  const inDocument = documentedOperations(document);
  assert.ok(inDocument.size > 10, "the document's paths were read");
  assert.deepEqual(
    [...inCode].filter((op) => !inDocument.has(op)),
    [],
    "routes missing from openapi.yaml",
  );
  assert.deepEqual(
    [...inDocument].filter((op) => !inCode.has(op)),
    [],
    "documented routes the server lacks",
  );
});

Deno.test("openapi.yaml lists every setting with the defaults the server uses", () => {
  const defaults = parseConfig({}, []);
  const rows = [
    ...document.matchAll(/variable: (IM_\w+),\s*flag: (--[\w-]+),\s*default: ("[^"]*"|[^",\s]+),/g),
  ].map(([all, variable, flag, fallback]) => [all, variable, flag, fallback.replace(/^"|"$/g, "")]);
  assert.equal(rows.length, Object.keys(defaults).length);
  for (const [, variable, flag, fallback] of rows) {
    assert.deepEqual(
      parseConfig({ [variable]: fallback }, []),
      defaults,
      `${variable} default ${fallback}`,
    );
    assert.deepEqual(parseConfig({}, [flag, fallback]), defaults, `${flag} default ${fallback}`);
  }
});

Deno.test("openapi.yaml lists every close code the server uses", () => {
  for (const { code } of Object.values(Close)) {
    if (code === Close.abnormal.code) continue; // never sent: RFC 6455 reserves it for reports
    assert.match(document, new RegExp(`^    ${code}: `, "m"), `close code ${code}`);
  }
});
