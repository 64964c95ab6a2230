import assert from "node:assert/strict";
import { CONTENT_SECURITY_POLICY, createStaticHandler } from "../../lib/http/static_files.ts";

const WEB = new URL("../../web/", import.meta.url);
const web = createStaticHandler(WEB);

function get(handler: (request: Request) => Promise<Response>, path: string, init?: RequestInit) {
  return handler(new Request(`http://localhost${path}`, init));
}

Deno.test("static: the client's files are served with their content types", async () => {
  const cases: [string, string][] = [
    ["/", "text/html; charset=utf-8"],
    ["/index.html", "text/html; charset=utf-8"],
    ["/app.js", "text/javascript; charset=utf-8"],
    ["/connection.js", "text/javascript; charset=utf-8"],
    ["/style.css", "text/css; charset=utf-8"],
    ["/favicon.svg", "image/svg+xml"],
  ];
  for (const [path, type] of cases) {
    const response = await get(web, path);
    const body = await response.bytes();
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("content-type"), type, path);
    assert.equal(response.headers.get("content-length"), String(body.byteLength), path);
  }
  const index = await (await get(web, "/")).text();
  assert.match(index, /<script type="module" src="\/app.js"><\/script>/);
});

Deno.test("static: every response carries a strict CSP and nosniff, errors too", async () => {
  for (const path of ["/", "/app.js", "/missing.js"]) {
    const response = await get(web, path);
    await response.body?.cancel();
    assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY, path);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
  }
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]),
  );
  assert.deepEqual(directives.get("default-src"), ["'none'"]);
  assert.deepEqual(directives.get("script-src"), ["'self'"]);
  assert.deepEqual(directives.get("connect-src"), ["'self'"]);
  assert.deepEqual(directives.get("style-src"), ["'self'"]);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
});

Deno.test("static: ETag and If-None-Match give 304 without a body", async () => {
  const first = await get(web, "/app.js");
  await first.body?.cancel();
  const etag = first.headers.get("etag");
  assert.match(etag ?? "", /^"[A-Za-z0-9_-]{20,}"$/);
  assert.equal(first.headers.get("cache-control"), "no-cache");
  for (const header of [etag!, `W/${etag}`, `"other", ${etag}`, "*"]) {
    const again = await get(web, "/app.js", { headers: { "if-none-match": header } });
    assert.equal(again.status, 304, header);
    assert.equal(again.body, null);
    assert.equal(again.headers.get("etag"), etag);
  }
  const stale = await get(web, "/app.js", { headers: { "if-none-match": '"stale"' } });
  await stale.body?.cancel();
  assert.equal(stale.status, 200);
  const other = await get(web, "/style.css");
  await other.body?.cancel();
  assert.notEqual(other.headers.get("etag"), etag);
});

Deno.test("static: HEAD has the headers and no body; other methods are 405 JSON", async () => {
  const head = await get(web, "/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.ok(Number(head.headers.get("content-length")) > 0);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const response = await get(web, "/", { method });
    assert.equal(response.status, 405, method);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(typeof (await response.json()).error, "string");
  }
});

Deno.test("static: traversal, encoded dots, absolute paths, dot files and symlinks out are 404", async () => {
  const base = await Deno.makeTempDir({ prefix: "huayi-static-" });
  try {
    const root = `${base}/root`;
    await Deno.mkdir(`${root}/sub`, { recursive: true });
    await Deno.writeTextFile(`${base}/secret.txt`, "secret");
    await Deno.writeTextFile(`${root}/index.html`, "<p>home</p>");
    await Deno.writeTextFile(`${root}/sub/page.txt`, "page");
    await Deno.writeTextFile(`${root}/.env`, "hidden");
    await Deno.writeTextFile(`${root}/target.txt`, "inside");
    await Deno.symlink(`${base}/secret.txt`, `${root}/link.txt`);
    await Deno.symlink(base, `${root}/up`);
    await Deno.symlink(`${root}/target.txt`, `${root}/inner-link.txt`);
    const files = createStaticHandler(new URL(`file://${root}`));

    assert.equal(await (await get(files, "/")).text(), "<p>home</p>");
    assert.equal(await (await get(files, "/sub/page.txt")).text(), "page");
    assert.equal(await (await get(files, "/inner-link.txt")).text(), "inside");

    const attempts = [
      "/..%2fsecret.txt",
      "/..%2Fsecret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/sub/..%2f..%2fsecret.txt",
      "/sub/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/%2fetc%2fpasswd",
      `/${encodeURIComponent(`${base}/secret.txt`)}`,
      "//etc/passwd",
      "/C:%5cWindows%5cwin.ini",
      "/link.txt",
      "/up/secret.txt",
      "/.env",
      "/sub%00.txt",
      "/%ff",
      "/sub",
      "/sub/",
      "/missing.txt",
    ];
    for (const path of attempts) {
      const response = await get(files, path);
      assert.equal(response.status, 404, path);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/, path);
      const body = await response.json();
      assert.equal(typeof body.error, "string", path);
      assert.doesNotMatch(JSON.stringify(body), /secret/, path);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

// Request targets exactly as an attacker's client sends them (`curl --path-as-is`):
// `new Request()` would normalise the dot segments away before the handler saw them.
async function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of conn.readable) text += decoder.decode(chunk, { stream: true });
    const [head, ...body] = text.split("\r\n\r\n");
    return { status: Number(head.split(" ")[1]), body: body.join("\r\n\r\n") };
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("static: raw dot segments on the wire are 404, not resolved", async () => {
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    web,
  );
  try {
    const { port } = server.addr;
    assert.equal((await rawGet(port, "/")).status, 200);
    assert.equal((await rawGet(port, "/app.js?v=1")).status, 200);
    const attempts = [
      "/%2e%2e/",
      "/%2E%2E/",
      "/.%2e/index.html",
      "/../../etc/passwd",
      "/..%2f..%2fetc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
      "/..%5c..%5cetc%5cpasswd",
      "//etc/passwd",
      "/./index.html",
      "/sub/../index.html",
    ];
    for (const target of attempts) {
      const { status, body } = await rawGet(port, target);
      assert.equal(status, 404, target);
      assert.equal(typeof JSON.parse(body).error, "string", target);
    }
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("static: a changed file gets a new ETag", async () => {
  const root = await Deno.makeTempDir({ prefix: "huayi-static-" });
  try {
    const files = createStaticHandler(new URL(`file://${root}/`));
    await Deno.writeTextFile(`${root}/a.txt`, "one");
    const first = await get(files, "/a.txt");
    assert.equal(await first.text(), "one");
    await Deno.writeTextFile(`${root}/a.txt`, "second");
    const second = await get(files, "/a.txt");
    assert.equal(await second.text(), "second");
    assert.notEqual(second.headers.get("etag"), first.headers.get("etag"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("static: the client has no inline script or style and never parses text as HTML", async () => {
  const html = await Deno.readTextFile(new URL("index.html", WEB));
  for (const [tag] of html.matchAll(/<script\b[^>]*>[\s\S]*?<\/script>/g)) {
    assert.match(tag, /^<script type="module" src="[^"]+"><\/script>$/, tag);
  }
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  for await (const entry of Deno.readDir(WEB)) {
    if (!entry.name.endsWith(".js")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, WEB));
    assert.doesNotMatch(
      source,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      entry.name,
    );
    assert.match(source, /^\/\/ @ts-check\n/, `${entry.name} is type-checked`);
  }
});
