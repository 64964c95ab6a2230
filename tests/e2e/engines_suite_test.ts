/**
 * The v1 suite (and the v2 resume, history and fuzz tests) against the other
 * engines: the same test files, run again in a child `deno test` — with
 * `HUAYI_TEST_CLUSTER=2`, where every TestServer is two nodes on their own
 * redis-server and each test's users spread over them (see harness.ts and
 * `nodeFor` in client.ts), and with `HUAYI_TEST_STORE=memory`. (The first
 * run of the suite, in `deno task test` itself, is on SQLite, the default.)
 *
 * @module
 */

import assert from "node:assert/strict";

const SUITE = [
  "messaging_test.ts",
  "sessions_test.ts",
  "offline_test.ts",
  "http_errors_test.ts",
  "heartbeat_test.ts",
  "hostile_test.ts",
  "slow_consumer_test.ts",
  "resume_test.ts",
  "history_test.ts",
  "fuzz_test.ts",
  "resume_chaos_test.ts",
].map((file) => new URL(file, import.meta.url).pathname);

async function runSuite(env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...SUITE],
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  const summary = text.match(/^(ok|FAILED) \| (\d+) passed.*\| (\d+) failed/m);
  assert.ok(summary, `no summary from the child run:\n${text.slice(-3000)}`);
  assert.equal(summary[3], "0", `failures:\n${text.slice(-6000)}`);
  assert.ok(Number(summary[2]) >= 50, `only ${summary[2]} tests ran`);
  assert.equal(output.code, 0);
}

Deno.test("engines: the v1 suite, resume and history pass against a two-node cluster", async () => {
  await runSuite({ HUAYI_TEST_CLUSTER: "2" });
});

Deno.test("engines: the v1 suite, resume and history pass against the memory store", async () => {
  await runSuite({ HUAYI_TEST_STORE: "memory" });
});
