/**
 * Topics and their members. Membership is by username, so users who never
 * logged in (mentioned, or offline) can be members too.
 *
 * @module
 */

import { Failure } from "../protocol/errors.ts";

/**
 * The set of topics, each with its members.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { TopicRegistry } from "./topics.ts";
 * const topics = new TopicRegistry();
 * topics.create("philosophers_stone", "Harry");
 * topics.join("philosophers_stone", "Ron");
 * assert.deepEqual([...topics.members("philosophers_stone")], ["Harry", "Ron"]);
 * ```
 */
export class TopicRegistry {
  readonly #members = new Map<string, Set<string>>();

  /** How many topics exist. */
  get size(): number {
    return this.#members.size;
  }

  /** Topic names, oldest first. */
  names(): string[] {
    return [...this.#members.keys()];
  }

  /** Whether `topic` exists. */
  has(topic: string): boolean {
    return this.#members.has(topic);
  }

  /**
   * Creates `topic` with `members` in join order: its creator when a user
   * makes it; whoever is left (maybe no one) when a store puts one back.
   *
   * @throws {Failure} `conflict` if it exists.
   */
  create(topic: string, ...members: string[]): void {
    if (this.#members.has(topic)) throw new Failure("conflict", `topic ${topic} already exists`);
    this.#members.set(topic, new Set(members));
  }

  /**
   * Removes `topic`.
   *
   * @returns Its members at the time.
   * @throws {Failure} `not_found` if it does not exist.
   */
  delete(topic: string): ReadonlySet<string> {
    const members = this.#require(topic);
    this.#members.delete(topic);
    return members;
  }

  /**
   * Adds `users` to `topic`; joining twice is fine.
   *
   * @throws {Failure} `not_found` if the topic does not exist.
   */
  join(topic: string, ...users: string[]): void {
    const members = this.#require(topic);
    for (const user of users) members.add(user);
  }

  /**
   * Removes `user` from `topic`; quitting a topic one never joined is fine.
   *
   * @throws {Failure} `not_found` if the topic does not exist.
   */
  quit(topic: string, user: string): void {
    this.#require(topic).delete(user);
  }

  /**
   * The members of `topic`.
   *
   * @throws {Failure} `not_found` if it does not exist.
   */
  members(topic: string): ReadonlySet<string> {
    return this.#require(topic);
  }

  #require(topic: string): Set<string> {
    const members = this.#members.get(topic);
    if (!members) throw new Failure("not_found", `topic ${topic} does not exist`);
    return members;
  }
}
