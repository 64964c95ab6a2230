import assert from "node:assert/strict";
import { Histogram } from "../../bench/histogram.ts";
import { HttpClient, ResponseParser } from "../../bench/http_client.ts";
import {
  cpuPercent,
  parseCpuTimes,
  parseStatCpuSeconds,
  parseStatusKb,
} from "../../bench/proc_stats.ts";
import { topSelfTime } from "../../bench/profile_top.ts";
import { median } from "../../bench/stats.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("bench ResponseParser: pipelined responses split at any byte boundary", () => {
  const stream = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}" +
    'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"error":"x"}' +
    "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n";
  for (const size of [1, 3, 7, 64, stream.length]) {
    const parser = new ResponseParser();
    const statuses: number[] = [];
    for (let i = 0; i < stream.length; i += size) {
      statuses.push(...parser.push(encode(stream.slice(i, i + size))));
    }
    assert.deepEqual(statuses, [200, 404, 413], `chunks of ${size}`);
  }
  assert.throws(() => new ResponseParser().push(encode("HTTP/1.1 200 OK\r\n\r\n")), /cannot parse/);
});

Deno.test("bench HttpClient: pipelined posts answered in order, each write timed once", async () => {
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    async (request) => {
      const { n } = await request.json();
      return new Response("{}", { status: n % 2 ? 404 : 200 });
    },
  );
  const lags: number[] = [];
  const client = await HttpClient.connect(
    new URL(`http://127.0.0.1:${server.addr.port}`),
    (ms) => lags.push(ms),
  );
  const statuses = await Promise.all(
    Array.from({ length: 6 }, (_, n) => client.post("/", JSON.stringify({ n }))),
  );
  assert.deepEqual(statuses, [200, 404, 200, 404, 200, 404]);
  assert.equal(lags.length, 6, "one timing per request");
  assert.ok(lags.every((ms) => ms >= 0 && ms < 5_000), `lags ${lags}`);
  client.close();
  controller.abort();
  await server.finished;
});

Deno.test("bench Histogram: percentiles to the bucket, merge across processes", () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 1; i <= 50; i++) a.record(i);
  for (let i = 51; i <= 100; i++) b.record(i);
  a.merge(JSON.parse(JSON.stringify(b.toJSON())));
  assert.deepEqual(a.summary(), { count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  const empty = new Histogram().summary();
  assert.equal(empty.count, 0);
  assert.ok(Number.isNaN(empty.p50));
});

Deno.test("bench proc_stats: CPU seconds from /proc/<pid>/stat, kB fields from status", () => {
  assert.equal(parseStatCpuSeconds("42 (deno (x) y) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20"), 2);
  assert.equal(
    parseStatusKb("Name:\tdeno\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", "VmRSS"),
    1024 * 1024,
  );
  assert.ok(Number.isNaN(parseStatusKb("Name:\tdeno\n", "VmRSS")));
  const sample = { cpuSeconds: 1, rssBytes: 0, peakRssBytes: 0, at: 0 };
  assert.equal(cpuPercent(sample, { ...sample, cpuSeconds: 1.5, at: 1000 }), 50);
  const times = parseCpuTimes(
    "cpu  100 0 50 9000 10 0 50 0 0 0\ncpu0 100 100 100 9000 10 100 100 100\nintr 1 2\n",
  );
  assert.deepEqual(times.get("cpu"), { tasks: 1.5, interrupts: 0.5 });
  assert.deepEqual(times.get("cpu0"), { tasks: 4, interrupts: 2 });
  assert.deepEqual([...times.keys()], ["cpu", "cpu0"]);
  assert.ok(parseCpuTimes(Deno.readTextFileSync("/proc/stat")).get("cpu")!.tasks > 0);
  const self = parseStatCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
  assert.ok(self > 0, "this process has used some CPU");
});

Deno.test("bench median and profile summary", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const rows = topSelfTime({
    nodes: [
      { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      { id: 2, callFrame: { functionName: "send", url: "file:///x/hub.ts", lineNumber: 9 } },
      { id: 3, callFrame: { functionName: "", url: "file:///x/a.ts", lineNumber: 0 } },
    ],
    samples: [1, 2, 2, 2, 3],
    timeDeltas: [100, 10, 10, 10, 10],
  }, 5);
  assert.deepEqual(rows, [{ name: "send hub.ts:10", percent: 75 }, {
    name: "(anonymous) a.ts:1",
    percent: 25,
  }]);
});
