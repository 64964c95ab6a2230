/**
 * One browser page driven like a person would: real mouse clicks and key
 * presses through the DevTools `Input` domain, plus polling for what the page
 * shows. It also records what must never happen in the client: uncaught
 * exceptions, console errors (CSP violations among them) and dialogs.
 *
 * @module
 */

import type { CdpConnection, CdpEvent } from "./cdp.ts";

/** A CSS selector for a `data-testid`, optionally narrowed by more attribute selectors. */
export function tid(id: string, more = ""): string {
  return `[data-testid="${id}"]${more}`;
}

// The fields of the few events the page watches.
interface EventParams {
  type?: string;
  message?: string;
  exceptionDetails?: { text?: string; exception?: { description?: string } };
  args?: { value?: unknown; description?: string }[];
  entry?: { level?: string; source?: string; text?: string };
  response?: { payloadData?: string };
  request?: { url?: string; method?: string };
  requestId?: string;
}

/** A page attached over a flat CDP session. */
export class Page {
  readonly #cdp: CdpConnection;
  readonly sessionId: string;
  readonly targetId: string;
  readonly contextId: string;
  /** Uncaught exceptions, console errors and dialogs seen so far. */
  readonly problems: string[] = [];
  /** WebSocket frames' texts, once {@linkcode captureWebSocketFrames} was called. */
  readonly frames: { sent: string[]; received: string[] } = { sent: [], received: [] };
  /** HTTP requests' methods and URLs, once {@linkcode captureWebSocketFrames} was called. */
  readonly requests: { method: string; url: URL }[] = [];
  readonly #off: () => void;
  // Fetch requests paused by holdRequests, waiting for its release.
  #held: string[] | undefined;

  private constructor(cdp: CdpConnection, sessionId: string, targetId: string, contextId: string) {
    this.#cdp = cdp;
    this.sessionId = sessionId;
    this.targetId = targetId;
    this.contextId = contextId;
    this.#off = cdp.on((event) => this.#watch(event));
  }

  /** Wraps an attached session and enables the domains the helpers need. */
  static async attach(
    cdp: CdpConnection,
    sessionId: string,
    targetId: string,
    contextId: string,
  ): Promise<Page> {
    const page = new Page(cdp, sessionId, targetId, contextId);
    await Promise.all([
      page.send("Page.enable"),
      page.send("Runtime.enable"),
      page.send("Log.enable"),
    ]);
    await page.setViewport(1024, 720);
    return page;
  }

  /** Sends a command to this page. */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}) {
    return this.#cdp.send<T>(method, params, this.sessionId);
  }

  /** Stops recording events (the browser is closing). */
  detach() {
    this.#off();
  }

  /** Starts recording the page's WebSocket frames into {@linkcode frames} and requests into {@linkcode requests}. */
  async captureWebSocketFrames() {
    await this.send("Network.enable");
  }

  /**
   * Cuts the page off the network (new requests and sockets fail) or
   * connects it again, as a lost Wi-Fi would.
   */
  async setOffline(offline: boolean) {
    await this.send("Network.enable");
    await this.send("Network.emulateNetworkConditions", {
      offline,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
  }

  /**
   * From the next page load on, keeps every WebSocket the page opens in
   * `window.__sockets`, so a test can drop one with {@linkcode dropSocket}.
   */
  async trackWebSockets() {
    await this.send("Page.addScriptToEvaluateOnNewDocument", {
      source: `(() => {
        const Native = WebSocket;
        window.__sockets = [];
        window.WebSocket = class extends Native {
          constructor(...args) {
            super(...args);
            window.__sockets.push(this);
          }
        };
      })();`,
    });
  }

  /**
   * Holds back the page's requests whose URL matches `pattern` (a CDP
   * `Fetch` pattern: `*` stands for any text) until the returned function
   * is called, as a slow server would; it lets them go and stops holding.
   */
  async holdRequests(pattern: string): Promise<() => Promise<void>> {
    this.#held = [];
    await this.send("Fetch.enable", {
      patterns: [{ urlPattern: pattern, requestStage: "Request" }],
    });
    return async () => {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const requestId of held) {
        await this.send("Fetch.continueRequest", { requestId }).catch(() => {});
      }
      await this.send("Fetch.disable");
    };
  }

  /** Closes the page's newest WebSocket from the client side, as a network drop would. */
  async dropSocket() {
    await this.evaluate(`window.__sockets.at(-1).close(3000, "test drop")`);
  }

  /** Sets the viewport size in CSS pixels. */
  async setViewport(width: number, height: number, mobile = false) {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile,
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string) {
    const loaded = this.#cdp.waitForEvent("Page.loadEventFired", this.sessionId);
    const { errorText } = await this.send<{ errorText?: string }>("Page.navigate", { url });
    if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
    await loaded;
  }

  /** Reloads and waits for the load event. */
  async reload() {
    const loaded = this.#cdp.waitForEvent("Page.loadEventFired", this.sessionId);
    await this.send("Page.reload");
    await loaded;
  }

  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (exceptionDetails) {
      throw new Error(
        `evaluating ${expression}: ${
          exceptionDetails.exception?.description ?? exceptionDetails.text
        }`,
      );
    }
    return result.value as T;
  }

  /**
   * Polls `expression` until it is truthy and returns its value; fails after
   * `timeoutMs` (generous: the whole suite shares two cores with Chromium).
   */
  async waitFor<T = unknown>(expression: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (true) {
      last = await this.evaluate<T>(expression);
      if (last) return last as T;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression} (was ${last})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until an element matching `selector` is visible. */
  async waitForVisible(selector: string, timeoutMs = 10_000) {
    await this.waitFor(
      `(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      return !!element && element.getClientRects().length > 0;
    })()`,
      timeoutMs,
    );
  }

  /** The trimmed text of the first element matching `selector`, or null. */
  text(selector: string): Promise<string | null> {
    return this.evaluate(
      `document.querySelector(${JSON.stringify(selector)})?.textContent.trim() ?? null`,
    );
  }

  /** The number of elements matching `selector`. */
  count(selector: string): Promise<number> {
    return this.evaluate(`document.querySelectorAll(${JSON.stringify(selector)}).length`);
  }

  /** Clicks the middle of the first visible element matching `selector` with the mouse. */
  async click(selector: string) {
    await this.waitForVisible(selector);
    const point = await this.evaluate<{ x: number; y: number }>(`(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      element.scrollIntoView({ block: "center" });
      const box = element.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    })()`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x: point.x,
        y: point.y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /** Focuses the element by clicking it and types `text` as keyboard input. */
  async type(selector: string, text: string) {
    await this.click(selector);
    await this.send("Input.insertText", { text });
  }

  /** Like {@linkcode type}, but replaces what the field holds, as select-all then typing does. */
  async fill(selector: string, text: string) {
    await this.click(selector);
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).select()`);
    await this.send("Input.insertText", { text });
  }

  /** Presses Enter, with Shift held when `shift` is true. */
  async pressEnter(shift = false) {
    const key = {
      key: "Enter",
      code: "Enter",
      windowsVirtualKeyCode: 13,
      nativeVirtualKeyCode: 13,
      modifiers: shift ? 8 : 0,
    };
    await this.send("Input.dispatchKeyEvent", { type: "keyDown", text: "\r", ...key });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...key });
  }

  /** Writes a PNG of the viewport. */
  async screenshot(path: string | URL) {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
    });
    await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  }

  #watch(event: CdpEvent) {
    if (event.sessionId !== this.sessionId) return;
    const params = event.params as EventParams;
    if (event.method === "Runtime.exceptionThrown") {
      const details = params.exceptionDetails;
      this.problems.push(`exception: ${details?.exception?.description ?? details?.text}`);
    } else if (event.method === "Runtime.consoleAPICalled" && params.type === "error") {
      const text = (params.args ?? []).map((arg) => arg.value ?? arg.description).join(" ");
      this.problems.push(`console.error: ${text}`);
    } else if (event.method === "Log.entryAdded" && params.entry?.level === "error") {
      const entry = params.entry;
      // A 404 for a missing resource is the test's business, not a client fault.
      if (entry.source !== "network") this.problems.push(`log: ${entry.text}`);
    } else if (event.method === "Network.requestWillBeSent" && params.request?.url) {
      this.requests.push({
        method: params.request.method ?? "GET",
        url: new URL(params.request.url),
      });
    } else if (event.method === "Network.webSocketFrameSent") {
      this.frames.sent.push(params.response?.payloadData ?? "");
    } else if (event.method === "Network.webSocketFrameReceived") {
      this.frames.received.push(params.response?.payloadData ?? "");
    } else if (event.method === "Fetch.requestPaused" && params.requestId) {
      if (this.#held) this.#held.push(params.requestId);
      else this.send("Fetch.continueRequest", { requestId: params.requestId }).catch(() => {});
    } else if (event.method === "Page.javascriptDialogOpening") {
      this.problems.push(`dialog: ${params.type} ${params.message}`);
      this.send("Page.handleJavaScriptDialog", { accept: false }).catch(() => {});
    }
  }
}
