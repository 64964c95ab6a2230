/**
 * Launches headless Chromium (Debian's `chromium` package) with a throwaway
 * profile and hands out isolated browser contexts, each with one page.
 *
 * @module
 */

import { CdpConnection } from "./cdp.ts";
import { Page } from "./page.ts";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/**
 * The Chromium executable: `$CHROMIUM_BIN`, else the first candidate on `PATH`.
 *
 * @example Usage
 * ```ts ignore
 * if (!findChromium()) console.warn("no chromium");
 * ```
 */
export function findChromium(): string | undefined {
  const explicit = Deno.env.get("CHROMIUM_BIN");
  if (explicit) return explicit;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of CANDIDATES) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // Not in this directory.
      }
    }
  }
  return undefined;
}

/** A running headless Chromium. */
export class Browser {
  readonly cdp: CdpConnection;
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #stderrDone: Promise<void>;
  readonly #pages: Page[] = [];

  private constructor(
    child: Deno.ChildProcess,
    cdp: CdpConnection,
    profile: string,
    stderrDone: Promise<void>,
  ) {
    this.#child = child;
    this.cdp = cdp;
    this.#profile = profile;
    this.#stderrDone = stderrDone;
  }

  /**
   * Starts Chromium and connects to its DevTools endpoint.
   *
   * @example Usage
   * ```ts ignore
   * const browser = await Browser.launch(findChromium()!);
   * const page = await browser.newPage();
   * await browser.close();
   * ```
   */
  static async launch(executable: string): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "huayi-chromium-" });
    const child = new Deno.Command(executable, {
      args: [
        "--headless=new",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "--no-sandbox",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
    let endpoint: string | undefined;
    try {
      while (!endpoint) {
        const { value, done } = await lines.read();
        if (done) break;
        seen += value;
        endpoint = seen.match(/DevTools listening on (ws:\/\/\S+)/)?.[1];
      }
    } finally {
      clearTimeout(deadline);
    }
    // Chromium keeps writing to stderr; reading it to the end keeps the pipe from filling.
    const stderrDone = (async () => {
      while (!(await lines.read()).done);
    })();
    if (!endpoint) {
      await stderrDone;
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(`chromium did not start:\n${seen}`);
    }
    const cdp = await CdpConnection.connect(endpoint);
    return new Browser(child, cdp, profile, stderrDone);
  }

  /**
   * A page in a fresh browser context (its own cookies and storage, like a
   * separate profile), or a new tab in the context of `contextId`.
   */
  async newPage(contextId?: string): Promise<Page> {
    const browserContextId = contextId ??
      (await this.cdp.send<{ browserContextId: string }>(
        "Target.createBrowserContext",
        { disposeOnDetach: true },
      )).browserContextId;
    const { targetId } = await this.cdp.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
      browserContextId,
    });
    const { sessionId } = await this.cdp.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = await Page.attach(this.cdp, sessionId, targetId, browserContextId);
    this.#pages.push(page);
    return page;
  }

  /** Closes one tab, as the user closing it would. */
  async closePage(page: Page): Promise<void> {
    page.detach();
    this.#pages.splice(this.#pages.indexOf(page), 1);
    await this.cdp.send("Target.closeTarget", { targetId: page.targetId });
  }

  /** Closes every page and the browser, and removes the profile. */
  async close(): Promise<void> {
    for (const page of this.#pages) page.detach();
    try {
      await this.cdp.send("Browser.close");
    } catch {
      // Already gone; the kill below makes sure.
    }
    const killer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await this.#child.status;
    clearTimeout(killer);
    await this.cdp.close();
    await this.#stderrDone;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  /** {@linkcode close}, for `await using browser = await Browser.launch(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
