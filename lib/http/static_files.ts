/**
 * Serves the bundled web client: files below one directory, with content
 * types, strong ETags and the security headers a browser app needs.
 *
 * Works the same from a checkout and from a `deno compile --include web`
 * binary, because it only uses `Deno.realPath`, `Deno.stat` and
 * `Deno.readFile` on file URLs built from the root.
 *
 * @module
 */

import { RequestTarget } from "./request_target.ts";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json; charset=utf-8",
  webmanifest: "application/manifest+json; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  woff2: "font/woff2",
};

/**
 * The Content-Security-Policy of every response: scripts and styles only from
 * this origin (so no inline script can run), connections (fetch and
 * WebSocket) only to this origin, and no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const SEPARATOR = Deno.build.os === "windows" ? "\\" : "/";

// Files above this size are not served: the client is a handful of small
// files, and a cap keeps the in-memory cache bounded.
const MAX_FILE_BYTES = 4 * 1024 * 1024;

interface CachedFile {
  readonly size: number;
  readonly mtime: number | undefined;
  readonly etag: string;
  readonly body: Uint8Array<ArrayBuffer>;
}

/**
 * Serves files below `root` (a directory URL or path); unknown paths and
 * traversal → 404 JSON `{"error": "..."}`.
 *
 * `/` and any path ending in `/` serve that directory's `index.html`. Path
 * segments that decode to `.`, `..`, a dot file, or contain a slash,
 * backslash or NUL are refused, and a file whose real path (symlinks
 * resolved) lies outside the root is 404 too. Only `GET` and `HEAD` are
 * allowed (405 otherwise).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createStaticHandler } from "./static_files.ts";
 * const files = createStaticHandler(new URL("../../web/", import.meta.url));
 * const page = await files(new Request("http://localhost/"));
 * assert.equal(page.status, 200);
 * assert.match(page.headers.get("content-type")!, /^text\/html/);
 * await page.body?.cancel();
 * assert.equal((await files(new Request("http://localhost/%2e%2e/deno.json"))).status, 404);
 * ```
 *
 * @param root The directory to serve; a trailing slash is added if missing.
 * @returns A request handler.
 */
export function createStaticHandler(root: URL): (request: Request) => Promise<Response> {
  const base = new URL(root.href.endsWith("/") ? root.href : `${root.href}/`);
  const cache = new Map<string, CachedFile>();
  let realRoot: Promise<string> | undefined;
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return errorResponse(405, `${request.method} is not allowed here`, { allow: "GET, HEAD" });
    }
    const segments = requestSegments(new RequestTarget(request.url).pathname);
    if (!segments) return notFound();
    const file = await loadFile(base, segments, cache, realRoot ??= Deno.realPath(base));
    if (!file) return notFound();
    const headers = new Headers({
      ...SECURITY_HEADERS,
      "content-type": contentType(segments[segments.length - 1]),
      "cache-control": "no-cache",
      etag: file.etag,
    });
    if (matchesEtag(request.headers.get("if-none-match"), file.etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-length", String(file.size));
    return new Response(request.method === "HEAD" ? null : file.body, { status: 200, headers });
  };
}

// Splits a URL path (the raw one, see request_target.ts, so a traversal
// attempt is a 404 rather than quietly rewritten) into decoded segments, or
// undefined when any segment is unsafe: `.` and `..` in any encoding, dot
// files, empty segments (`//etc`), and segments hiding a separator
// (`..%2f..`, `%5c`) or a drive (`C:`).
function requestSegments(pathname: string): string[] | undefined {
  const raw = pathname.split("/").slice(1);
  if (raw.length === 0 || raw[raw.length - 1] === "") raw[raw.length - 1] = "index.html";
  const segments: string[] = [];
  for (const part of raw) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (segment === "" || segment.startsWith(".") || /[/\\\0:]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

async function loadFile(
  base: URL,
  segments: readonly string[],
  cache: Map<string, CachedFile>,
  realRoot: Promise<string>,
): Promise<CachedFile | undefined> {
  const url = new URL(segments.map(encodeURIComponent).join("/"), base);
  let real: string;
  let info: Deno.FileInfo;
  try {
    real = await Deno.realPath(url);
    const rootPath = await realRoot;
    if (!real.startsWith(rootPath.endsWith(SEPARATOR) ? rootPath : rootPath + SEPARATOR)) {
      return undefined;
    }
    info = await Deno.stat(real);
  } catch {
    return undefined;
  }
  if (!info.isFile || info.size > MAX_FILE_BYTES) return undefined;
  const mtime = info.mtime?.getTime();
  const cached = cache.get(real);
  if (cached && cached.size === info.size && cached.mtime === mtime) return cached;
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await Deno.readFile(real);
  } catch {
    return undefined;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const etag = `"${toBase64Url(digest.subarray(0, 18))}"`;
  const file = { size: body.byteLength, mtime, etag, body };
  cache.set(real, file);
  return file;
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

// If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored.
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  const extension = dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

function notFound(): Response {
  return errorResponse(404, "not found");
}

function errorResponse(status: number, error: string, extra: Record<string, string> = {}) {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
      ...extra,
    },
  });
}
