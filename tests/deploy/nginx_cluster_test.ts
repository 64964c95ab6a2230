/**
 * The cluster's deployment shape: Debian's nginx in front of two nodes that
 * share a Redis, balancing requests and sockets over them (the upstream of
 * `deploy/nginx.conf` with two servers), and a conversation through it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TestCluster } from "../e2e/cluster.ts";

const HAS_NGINX = await new Deno.Command("sh", { args: ["-c", "command -v nginx"] }).output()
  .then((result) => result.code === 0);
if (!HAS_NGINX && Deno.env.get("CI")) throw new Error("nginx_cluster_test: nginx is not installed");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** nginx on `port` balancing over `upstreams`, with the example's WebSocket settings. */
async function startNginx(dir: string, port: number, upstreams: string[]) {
  const example = await Deno.readTextFile(new URL("../../deploy/nginx.conf", import.meta.url));
  const ws = example.slice(example.indexOf("location = /api/ws"), example.indexOf("location / "));
  const conf = [
    "daemon off;",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 256; }",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) =>
      `  ${kind}_temp_path ${dir}/${kind};`
    ),
    "  map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
    `  upstream huayi_im { ${upstreams.map((u) => `server ${u};`).join(" ")} }`,
    `  server { listen 127.0.0.1:${port};`,
    `    ${ws}`,
    "    location / { proxy_pass http://huayi_im; proxy_http_version 1.1;",
    '      proxy_set_header Connection ""; proxy_set_header Host $host; }',
    "  }",
    "}",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const args = ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`];
  const check = await new Deno.Command("nginx", { args: ["-t", ...args], stderr: "piped" })
    .output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
  return new Deno.Command("nginx", { args, stdin: "null", stdout: "null", stderr: "null" }).spawn();
}

Deno.test({
  name:
    "nginx in front of two nodes: a conversation through it, whichever node serves each request",
  ignore: !HAS_NGINX,
  async fn() {
    await using cluster = await TestCluster.start();
    const dir = await Deno.makeTempDir({ prefix: "nginx-cluster-" });
    const port = freePort();
    const nginx = await startNginx(dir, port, cluster.nodes.map((node) => new URL(node.url).host));
    try {
      const base = `http://127.0.0.1:${port}`;
      const call = async (path: string, init: { sid?: string; body?: unknown } = {}) => {
        for (let attempt = 0;; attempt++) {
          try {
            const response = await fetch(base + path, {
              method: init.body === undefined ? "GET" : "POST",
              headers: {
                "content-type": "application/json",
                ...(init.sid ? { authorization: `Bearer ${init.sid}` } : {}),
              },
              body: init.body === undefined ? undefined : JSON.stringify(init.body),
            });
            return { status: response.status, body: await response.json() };
          } catch (error) {
            if (attempt > 50) throw error; // nginx still starting
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      };
      const harry = (await call("/api/login", { body: { username: "Harry" } })).body.sid;
      const ron = (await call("/api/login", { body: { username: "Ron_W" } })).body.sid;
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api/ws?sid=${ron}&since=0`);
      const frames: { content?: unknown; seq?: number }[] = [];
      const arrived = Promise.withResolvers<void>();
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame["message-type"] === "message") frames.push(frame);
        if (frames.length === 10) arrived.resolve();
      };
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      // Ten sends, spread by nginx over both nodes, reach the one socket in order.
      for (let i = 0; i < 10; i++) {
        const sent = await call("/api/messages", {
          sid: harry,
          body: {
            "message-type": "message",
            from: "Harry",
            to: ["Ron_W"],
            "content-type": "text/plain",
            content: `m${i}`,
          },
        });
        assert.equal(sent.status, 200);
      }
      await arrived.promise;
      assert.deepEqual(frames.map((f) => f.content), Array.from({ length: 10 }, (_, i) => `m${i}`));
      assert.deepEqual(frames.map((f) => f.seq), Array.from({ length: 10 }, (_, i) => i + 1));
      const served = cluster.nodes.map((node) =>
        node.log.filter((line) => line.includes(" login ")).length
      );
      assert.equal(served.reduce((a, b) => a + b), 2, "two logins in all");
      const online = await call("/api/users?online=true", { sid: harry });
      assert.deepEqual(online.body.list, [{ username: "Ron_W" }], "presence from any node");
      // A second login through nginx closes the socket on whichever node holds it.
      const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
      await call("/api/login", { body: { username: "Ron_W" } });
      assert.equal((await closed).code, 4001);
    } finally {
      nginx.kill("SIGTERM");
      await nginx.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
