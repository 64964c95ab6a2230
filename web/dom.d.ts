/**
 * The small part of the DOM the client uses, as module-scoped types.
 *
 * Why not `/// <reference lib="dom" />`: a lib reference is global to the
 * whole type-check program, and `deno task check` checks the client in one
 * program with the server and its tests, where the DOM's stream and event
 * types clash with Deno's own. These types change nothing outside the
 * modules that import them.
 *
 * @module
 */

/** An element of the page. */
export interface DomElement {
  hidden: boolean;
  textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  readonly firstElementChild: DomElement | null;
  readonly nextElementSibling: DomElement | null;
  setAttribute(name: string, value: string): void;
  append(...children: (DomElement | string)[]): void;
  replaceChildren(...children: (DomElement | string)[]): void;
  /** Moves `node` (new or already in the tree) before `reference`, or to the end when null. */
  insertBefore(node: DomElement, reference: DomElement | null): void;
  remove(): void;
  getBoundingClientRect(): { readonly top: number; readonly bottom: number };
  focus(): void;
  addEventListener(
    type: "click" | "submit" | "input" | "scroll",
    listener: (event: Event) => void,
  ): void;
  addEventListener(type: "keydown", listener: (event: DomKeyboardEvent) => void): void;
}

/** An input, textarea or button. */
export interface DomControl extends DomElement {
  value: string;
  disabled: boolean;
}

/** A key press. */
export interface DomKeyboardEvent extends Event {
  readonly key: string;
  readonly shiftKey: boolean;
  /** True while an input method (e.g. for Chinese) is composing: Enter then picks a word. */
  readonly isComposing: boolean;
}

/** The page's document. */
export interface DomDocument {
  title: string;
  readonly body: DomElement;
  getElementById(id: string): DomElement | null;
  createElement(tag: string): DomElement;
}

/** The tab's session history: the client only rewrites the current entry's address. */
export interface DomHistory {
  readonly state: unknown;
  replaceState(data: unknown, unused: string, url?: string): void;
}
