/**
 * `deploy/nginx.conf` with Debian's nginx in front of a real server: TLS
 * with a throwaway CA, the HTTP API, the web client, the port-80 redirect, and
 * a WebSocket through the proxy (`deploy/listen.ts` over `wss:`). Ignored
 * when nginx or openssl is not installed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TestServer } from "../e2e/harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CONF = `${ROOT}deploy/nginx.conf`;
const LISTEN = `${ROOT}deploy/listen.ts`;

const missing = [];
for (const tool of ["nginx", "openssl"]) if (!(await which(tool))) missing.push(tool);
if (missing.length > 0) {
  // CI installs nginx (.ci/run): there a missing one is a failure, not a skip.
  if (Deno.env.get("CI")) throw new Error(`nginx_test: ${missing.join(" and ")} not installed`);
  console.error(`nginx_test: ignored, ${missing.join(" and ")} not installed`);
}

Deno.test("nginx example: the WebSocket location keeps connections longer than the client timeout", async () => {
  const text = await Deno.readTextFile(CONF);
  const ws = text.slice(text.indexOf("location = /api/ws"), text.indexOf("location / "));
  for (
    const line of ["proxy_http_version 1.1;", "proxy_set_header Upgrade", "proxy_buffering off;"]
  ) {
    assert.ok(ws.includes(line), line);
  }
  assert.match(ws, /proxy_set_header Connection \$connection_upgrade;/);
  const timeout = Number(ws.match(/proxy_read_timeout (\d+)s;/)?.[1]);
  // Above IM_CLIENT_TIMEOUT_MS (60 s): the server, not nginx, decides a silent socket is gone.
  assert.ok(timeout > 60, `proxy_read_timeout ${timeout}s`);
  assert.match(text, /upstream huayi_im \{\s*server 127\.0\.0\.1:8080;/);
});

Deno.test({
  name:
    "nginx example: TLS in front of the server, HTTP redirects, the API, the web client and a wss: socket",
  ignore: missing.length > 0,
  async fn() {
    await using server = await TestServer.start();
    const dir = await Deno.makeTempDir({ prefix: "nginx-" });
    let nginx: Deno.ChildProcess | undefined;
    let listener: Deno.ChildProcess | undefined;
    try {
      await makeCertificates(dir);
      const [https, http] = [freePort(), freePort()];
      const upstream = new URL(server.url).port;
      // The example as shipped, pointed at this test's ports and certificates.
      const site = (await Deno.readTextFile(CONF))
        .replace("listen 443 ssl;", `listen 127.0.0.1:${https} ssl;`)
        .replace("listen 80;", `listen 127.0.0.1:${http};`)
        .replace(/^\s*listen \[::\]:\d+( ssl)?;$/gm, "")
        .replace("server 127.0.0.1:8080;", `server 127.0.0.1:${upstream};`)
        .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${dir}/leaf.pem;`)
        .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${dir}/leaf.key;`);
      await Deno.writeTextFile(`${dir}/site.conf`, site);
      await Deno.writeTextFile(
        `${dir}/nginx.conf`,
        [
          "daemon off;",
          "worker_processes 1;",
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/error.log warn;`,
          "events { worker_connections 64; }",
          "http {",
          "  access_log off;",
          ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) =>
            `  ${kind}_temp_path ${dir}/${kind};`
          ),
          `  include ${dir}/site.conf;`,
          "}",
        ].join("\n"),
      );
      const args = ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`];
      const check = await new Deno.Command("nginx", { args: ["-t", ...args], stderr: "piped" })
        .output();
      assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
      nginx = new Deno.Command("nginx", { args, stdin: "null", stdout: "null", stderr: "null" })
        .spawn();

      const caCert = await Deno.readTextFile(`${dir}/ca.pem`);
      using client = Deno.createHttpClient({ caCerts: [caCert] });
      const base = `https://127.0.0.1:${https}`;
      const health = await eventually(() => fetch(`${base}/healthz`, { client }));
      assert.equal(health.status, 200);
      await health.body?.cancel();

      const redirect = await fetch(`http://127.0.0.1:${http}/api/users`, { redirect: "manual" });
      await redirect.body?.cancel();
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get("location"), `https://127.0.0.1/api/users`);

      const page = await fetch(`${base}/`, { client });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);

      const login = async (username: string) => {
        const response = await fetch(`${base}/api/login`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username }),
        });
        return (await response.json()).sid as string;
      };
      const [harry, ron] = [await login("Harry"), await login("Ron_W")];

      // The receiving socket through nginx and TLS, with the test CA.
      listener = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--cert",
          `${dir}/ca.pem`,
          LISTEN,
          `wss://127.0.0.1:${https}/api/ws?sid=${ron}`,
          "--count",
          "1",
          "--seconds",
          "10",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const online = await eventually(async () => {
        const response = await fetch(`${base}/api/users?online=true`, {
          client,
          headers: { authorization: `Bearer ${harry}` },
        });
        const body = await response.json();
        if (body.total !== 1) throw new Error("Ron is not online yet");
        return body;
      });
      assert.deepEqual(online.list, [{ username: "Ron_W" }]);
      const sent = await fetch(`${base}/api/messages`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${harry}` },
        body: JSON.stringify({
          "message-type": "message",
          from: "Harry",
          to: ["Ron_W"],
          "content-type": "text/plain",
          content: "through nginx",
        }),
      });
      assert.equal(sent.status, 200);
      await sent.body?.cancel();
      const output = await listener.output();
      const stdout = new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const [frame] = stdout.trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual([frame.from, frame.to, frame.content], [
        "Harry",
        ["Ron_W"],
        "through nginx",
      ]);
    } finally {
      try {
        listener?.kill("SIGKILL");
      } catch {
        // It ended by itself.
      }
      await listener?.status;
      if (nginx) {
        // SIGQUIT is nginx's graceful stop; its workers leave with the master.
        nginx.kill("SIGQUIT");
        await nginx.status;
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A CA and a certificate for 127.0.0.1 signed by it (rustls refuses a self-signed leaf as its own CA). */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  const steps = [
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=huayi test CA",
    ],
    ["req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
    ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
      .concat(["-out", "leaf.pem", "-days", "1", "-extfile", "leaf.ext"]),
  ];
  for (const args of steps) {
    const output = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function which(command: string): Promise<boolean> {
  const output = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  return output?.success ?? false;
}
