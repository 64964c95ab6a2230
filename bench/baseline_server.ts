/**
 * The baseline: a bare Deno WebSocket server that forwards each POSTed body,
 * unparsed, to one socket or to every member of a topic. It answers the same
 * requests as Huayi IM (routing hints come in the query string, which Huayi
 * IM ignores), so the load generator drives both identically and the ratio
 * between them is the cost of the contract over what the runtime itself does.
 *
 * Run: `deno run --allow-net bench/baseline_server.ts [port] [host]`
 *
 * @module
 */

const sockets = new Map<string, WebSocket>();
const topics = new Map<string, Set<string>>();
const ok = () => new Response("{}", { headers: { "content-type": "application/json" } });

function handle(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/api/ws") {
    const user = url.searchParams.get("sid") ?? "";
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => sockets.set(user, socket);
    socket.onclose = () => sockets.get(user) === socket && sockets.delete(user);
    return response;
  }
  if (path === "/api/login") {
    return request.json().then(({ username }) => Response.json({ sid: username, username }));
  }
  const user = request.headers.get("authorization")?.slice(7) ?? "";
  if (path === "/api/topics" && request.method === "POST") {
    return request.json().then(({ topic }) => {
      topics.set(topic, new Set([user]));
      return ok();
    });
  }
  const join = path.match(/^\/api\/topics\/([^/]+)\/actions\/join$/);
  if (join) {
    topics.get(join[1])?.add(user);
    return ok();
  }
  if (path === "/api/messages") {
    return request.text().then((body) => {
      const topic = url.searchParams.get("topic");
      if (topic) {
        for (const member of topics.get(topic) ?? []) {
          if (member !== user) sockets.get(member)?.send(body);
        }
      } else {
        sockets.get(url.searchParams.get("to") ?? "")?.send(body);
      }
      return ok();
    });
  }
  return ok();
}

if (import.meta.main) {
  const hostname = Deno.args[1] ?? "127.0.0.1";
  const server = Deno.serve({
    hostname,
    port: Number(Deno.args[0] ?? 0),
    onListen: ({ port }) => console.log(`listening on http://${hostname}:${port}`),
  }, handle);
  Deno.addSignalListener("SIGTERM", () => server.shutdown().then(() => Deno.exit(0)));
}
