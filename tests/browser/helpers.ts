/**
 * What the browser tests do over and over: log in through the form, send
 * from the compose box, and read what the page shows.
 *
 * @module
 */

import { type Page, tid } from "./page.ts";

/** The connection state the page shows (`open`, `reconnecting`, …), as an expression. */
export const STATE = `document.querySelector('[data-testid="connection-state"]').dataset.state`;

/** Opens the client, logs in through the form and waits for the socket. */
export async function loginAs(page: Page, base: string, username: string) {
  await page.goto(`${base}/`);
  await page.fill(tid("login-username"), username);
  await page.click(tid("login-submit"));
  await page.waitFor(`${STATE} === "open"`);
}

/** Types into the compose box and presses Enter. */
export async function send(page: Page, text: string) {
  await page.type(tid("compose"), text);
  await page.pressEnter();
}

/** A message as the page shows it. */
export interface Shown {
  from: string;
  topic: string;
  text: string;
}

/** The messages of the open conversation, top to bottom. */
export function shownMessages(page: Page): Promise<Shown[]> {
  return page.evaluate(`[...document.querySelectorAll('[data-testid="message"]')].map((m) => ({
    from: m.dataset.from, topic: m.dataset.topic, text: m.querySelector(".text").textContent,
  }))`);
}

/** Waits until the open conversation shows exactly `count` messages and returns them. */
export async function waitForMessages(
  page: Page,
  count: number,
  timeoutMs = 10_000,
): Promise<Shown[]> {
  await page.waitFor(
    `document.querySelectorAll('[data-testid="message"]').length === ${count}`,
    timeoutMs,
  );
  return shownMessages(page);
}

/** The unread badge of a list item, or null. */
export function unread(page: Page, item: string): Promise<string | null> {
  return page.text(`${item} ${tid("unread")}`);
}

/** The selector of a person in the list. */
export function userItem(username: string) {
  return tid("user-item", `[data-username="${username}"]`);
}

/** The selector of a topic in the list. */
export function topicItem(topic: string) {
  return tid("topic-item", `[data-topic="${topic}"]`);
}

/** Resolves after `ms`. */
export function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
