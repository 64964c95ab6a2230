/**
 * `deploy/huayi-im.service` without systemd: its `ExecStart=` is run as
 * written, with its `Environment=` lines and nothing else, the install paths
 * pointed at this checkout and temporary directories; then SIGTERM goes to
 * that one process, as `KillMode=mixed` sends it, and the server must be gone.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const UNIT = `${ROOT}/deploy/huayi-im.service`;
const INSTALLED_DENO = "/usr/local/bin/deno";
const INSTALLED_REPO = "/opt/huayi-im";
// What systemd gives a service when the unit sets no PATH.
const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

/** A unit file's `[Section]` → key → every value given, in order. */
type Unit = Map<string, Map<string, string[]>>;

/** Parses a systemd unit file (comments, sections, repeated keys, `\` continuations). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) {
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq === -1) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

function service(unit: Unit): Map<string, string[]> {
  const section = unit.get("Service");
  assert.ok(section, "a [Service] section");
  return section;
}

/** The one value of a key (the last one, as systemd takes it). */
function one(section: Map<string, string[]>, key: string): string | undefined {
  return section.get(key)?.at(-1);
}

/** `Environment=` lines as a record (unquoted `NAME=value` words only). */
function environment(section: Map<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of section.get("Environment") ?? []) {
    assert.ok(!/["']/.test(line), `no quoting in Environment=${line}`);
    for (const word of line.split(/\s+/)) {
      const eq = word.indexOf("=");
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

const unit = parseUnit(await Deno.readTextFile(UNIT));

Deno.test("service unit: runs Deno itself with the least permissions, stops with SIGTERM, restarts on failure", () => {
  const svc = service(unit);
  const exec = one(svc, "ExecStart")!;
  assert.ok(
    !/["'%$]/.test(exec),
    "ExecStart= is plain words (no quoting, specifiers or variables)",
  );
  const [program, command, ...args] = exec.split(/\s+/);
  assert.equal(program, INSTALLED_DENO, "Deno itself, not npx or a wrapper");
  assert.equal(command, "run", "deno run, not deno task (one process, the server)");
  assert.equal(args.at(-1), `${INSTALLED_REPO}/main.ts`);
  const flags = args.slice(0, -1);
  const state = `/var/lib/${one(svc, "StateDirectory")}`;
  assert.equal(state, "/var/lib/huayi-im");
  assert.deepEqual(flags.filter((flag) => flag.startsWith("--allow")).sort(), [
    "--allow-env=IM_*,OTEL_DENO",
    "--allow-net",
    `--allow-read=${INSTALLED_REPO}/web,${state},/proc/self/limits`,
    `--allow-write=${state}`,
  ]);
  assert.ok(
    !flags.some((flag) => flag === "-A" || /^--(allow-all|allow-run|allow-ffi)/.test(flag)),
  );
  assert.ok(flags.includes("--no-remote"), "no code from the network");

  const env = environment(svc);
  assert.equal(env.IM_HOST, "127.0.0.1", "only the loopback: open auth lets anyone be anyone");
  assert.equal(env.IM_DATA_DIR, state);
  assert.equal(env.DENO_DIR, `/var/cache/${one(svc, "CacheDirectory")}`);

  const expected: Record<string, string> = {
    Type: "exec",
    KillSignal: "SIGTERM",
    KillMode: "mixed",
    Restart: "on-failure",
    RestartPreventExitStatus: "2",
    DynamicUser: "yes",
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    CapabilityBoundingSet: "",
    WorkingDirectory: state,
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(one(svc, key), value, key);
  // V8's JIT needs writable-then-executable memory: this would kill the server at start.
  assert.equal(one(svc, "MemoryDenyWriteExecute"), undefined);
  assert.equal(unit.get("Install")?.get("WantedBy")?.[0], "multi-user.target");
});

Deno.test({
  name: "service unit: systemd-analyze verify finds nothing to say",
  ignore: !(await which("systemd-analyze")),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "unit-" });
    try {
      // verify checks that the program exists: point it at this Deno.
      const text = (await Deno.readTextFile(UNIT)).replaceAll(INSTALLED_DENO, Deno.execPath());
      await Deno.writeTextFile(`${dir}/huayi-im.service`, text);
      const output = await new Deno.Command("systemd-analyze", {
        args: ["verify", "--man=no", `${dir}/huayi-im.service`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(output.stderr) +
        new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, said);
      assert.equal(said.trim(), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("service unit: its ExecStart serves the API and web/; SIGTERM to that process stops it, no orphan", async () => {
  const svc = service(unit);
  const temp = await Deno.makeTempDir({ prefix: "huayi-service-" });
  const dirs = { state: `${temp}/state`, cache: `${temp}/cache` };
  await Deno.mkdir(dirs.state);
  await Deno.mkdir(dirs.cache);
  // Where the README installs things → this checkout and the temporary dirs.
  const local = (text: string) =>
    text.replaceAll(INSTALLED_DENO, Deno.execPath()).replaceAll(INSTALLED_REPO, ROOT)
      .replaceAll("/var/lib/huayi-im", dirs.state).replaceAll("/var/cache/huayi-im", dirs.cache);
  const [program, ...args] = local(one(svc, "ExecStart")!).split(/\s+/);
  const env = Object.fromEntries(
    Object.entries(environment(svc)).map(([name, value]) => [name, local(value)]),
  );
  const child = new Deno.Command(program, {
    args,
    // Exactly the unit's environment, as systemd gives it; the port is the one change.
    clearEnv: true,
    env: { ...env, PATH: SYSTEMD_PATH, IM_PORT: "0" },
    cwd: local(one(svc, "WorkingDirectory")!),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr.push(text);
  })();
  try {
    const url = await listeningUrl(child.stdout, stderr);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    // It works under those permissions: the API, the web client, a socket.
    assert.equal((await fetch(`${url}/healthz`)).status, 200, stderr.join(""));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200, "web/ is readable");
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    await page.body?.cancel();
    const login = await fetch(`${url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "Harry" }),
    });
    const { sid } = await login.json();
    const socket = new WebSocket(`${url.replace("http", "ws")}/api/ws?sid=${sid}`);
    const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });

    // The process the unit starts is the server: it has no children to orphan.
    assert.deepEqual(childrenOf(child.pid), []);
    const started = Date.now();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, stderr.join(""));
    assert.ok(Date.now() - started < 5000, "stops within a few seconds");
    assert.equal((await closed).code, 1001, "sockets are closed with 1001");
    await assert.rejects(fetch(`${url}/healthz`), "the port is closed");
    assert.equal(await alive(child.pid), false);
    await drained;
    assert.match(stderr.join(""), /shutdown signal=SIGTERM/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Stopped already.
    }
    await child.status;
    await Deno.remove(temp, { recursive: true });
  }
});

Deno.test("why the unit avoids npx: npm's `sh -c` dies on SIGTERM without passing it on, `deno task` does pass it", async () => {
  const bin = await Deno.makeTempDir({ prefix: "deno-bin-" });
  await Deno.symlink(Deno.execPath(), `${bin}/deno`);
  // What `npx -y deno@2.9.6 task start` runs (npm quotes the command so).
  const shell = new Deno.Command("sh", {
    args: ["-c", "'deno' task start --host 127.0.0.1 --port 0"],
    cwd: ROOT,
    env: { PATH: `${bin}:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let left: number[] = [];
  try {
    const url = await listeningUrl(shell.stdout, []);
    const [task] = childrenOf(shell.pid);
    assert.ok(task, "sh runs deno task as its child");
    left = [task, ...childrenOf(task)];
    assert.equal(left.length, 2, "deno task runs the server as its child");

    // npm exec forwards SIGTERM to this shell: the shell dies, the server stays.
    shell.kill("SIGTERM");
    assert.equal((await shell.status).signal, "SIGTERM");
    const health = await fetch(`${url}/healthz`);
    await health.body?.cancel();
    assert.equal(health.status, 200, "orphaned, the server still answers");

    // deno task itself forwards SIGTERM to the server.
    Deno.kill(task, "SIGTERM");
    const deadline = Date.now() + 5000;
    while ((await alive(left[1])) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await alive(left[1]), false, "deno task passed SIGTERM on");
    await assert.rejects(fetch(`${url}/healthz`));
    left = [];
  } finally {
    for (const pid of left.reverse()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await shell.status;
    await Deno.remove(bin, { recursive: true });
  }
});

/** Reads stdout until the server's `listening on` line; keeps draining it after. */
async function listeningUrl(stdout: ReadableStream<Uint8Array>, log: string[]): Promise<string> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const match = seen.match(/listening on (http:\/\/\S+)\n/);
    if (match) {
      (async () => {
        while (!(await reader.read()).done);
      })();
      return match[1];
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server did not start:\n${seen}\n${log.join("")}`);
    seen += value;
  }
}

/** The pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // The command name is in parentheses and may hold spaces: fields follow the last ")".
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry.name));
    } catch {
      // Exited while we looked.
    }
  }
  return children.sort((a, b) => a - b);
}

/** Whether a process runs (a zombie that nobody reaped yet does not). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function which(command: string): Promise<boolean> {
  try {
    const output = await new Deno.Command("sh", {
      args: ["-c", `command -v ${command}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}
