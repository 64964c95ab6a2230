import assert from "node:assert/strict";
import { parseConfig, SETTING_VARIABLES } from "../lib/config.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));

Deno.test("README's configuration table lists every setting, with the default the server uses", () => {
  const rows = new Map(
    [...readme.matchAll(/^\| `(IM_\w+)`\s*\| `(--[\w-]+)`\s*\| `([^`]*)`\s*\|/gm)].map((
      [, variable, flag, fallback],
    ) => [variable, { flag, fallback }]),
  );
  assert.deepEqual([...rows.keys()].sort(), [...SETTING_VARIABLES].sort());
  const defaults = parseConfig({}, []);
  for (const [variable, { fallback }] of rows) {
    const given = fallback === "none" ? "" : fallback;
    assert.deepEqual(parseConfig({ [variable]: given }, []), defaults, `${variable} = ${fallback}`);
  }
});
