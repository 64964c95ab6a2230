/**
 * The contract's two business-level heartbeat rules, as a small state machine
 * per socket that a single server-wide clock drives (one timer for all
 * sockets, rather than a timer each).
 *
 * @module
 */

/** Heartbeat timings from the configuration. */
export interface HeartbeatTimings {
  clientTimeoutMs: number;
  probeIntervalMs: number;
  probeMaxMisses: number;
}

/** What the clock should do with a socket now. */
export type HeartbeatVerdict =
  | { readonly action: "none" }
  | { readonly action: "probe"; readonly id: number }
  | { readonly action: "close"; readonly why: "silent" | "probes unanswered" };

const NONE: HeartbeatVerdict = { action: "none" };

/**
 * One socket's heartbeat state.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Heartbeat } from "./heartbeat.ts";
 * const timings = { clientTimeoutMs: 60_000, probeIntervalMs: 20_000, probeMaxMisses: 3 };
 * const heartbeat = new Heartbeat(timings, 0);
 * assert.deepEqual(heartbeat.check(20_000, 20_000), { action: "probe", id: 1 });
 * assert.equal(heartbeat.acknowledge(1), true);
 * assert.deepEqual(heartbeat.check(70_001, 5_000), { action: "close", why: "silent" });
 * ```
 */
export class Heartbeat {
  readonly #timings: HeartbeatTimings;
  #nextProbeAt: number;
  #lastProbeId = 0;
  #unanswered = 0;

  /**
   * @param timings The configured rules.
   * @param now When the socket opened.
   */
  constructor(timings: HeartbeatTimings, now: number) {
    this.#timings = timings;
    this.#nextProbeAt = now + timings.probeIntervalMs;
  }

  /** Probes sent since the last matching ack. */
  get unanswered(): number {
    return this.#unanswered;
  }

  /**
   * Records an `ack` from the client.
   *
   * @param id The frame's `ack-id`.
   * @returns Whether it answers an outstanding probe (which resets the count).
   */
  acknowledge(id: number | string): boolean {
    // Probe ids are whole numbers; only the unanswered ones count.
    const outstanding = typeof id === "number" && Number.isInteger(id) &&
      id > this.#lastProbeId - this.#unanswered && id <= this.#lastProbeId;
    if (outstanding) this.#unanswered = 0;
    return outstanding;
  }

  /**
   * Applies both rules at time `now`.
   *
   * @param now The current time.
   * @param lastSeen When the user last showed a sign of life (frame or HTTP request).
   * @returns Whether to do nothing, send a probe with the given id, or close.
   */
  check(now: number, lastSeen: number): HeartbeatVerdict {
    if (now - lastSeen > this.#timings.clientTimeoutMs) return { action: "close", why: "silent" };
    if (now < this.#nextProbeAt) return NONE;
    if (this.#unanswered >= this.#timings.probeMaxMisses) {
      return { action: "close", why: "probes unanswered" };
    }
    this.#nextProbeAt = now + this.#timings.probeIntervalMs;
    this.#unanswered++;
    return { action: "probe", id: ++this.#lastProbeId };
  }
}
