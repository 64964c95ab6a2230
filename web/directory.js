// @ts-check
/**
 * A bounded window onto one of the server's name-sorted lists (users or
 * topics): a page of the names that start with what the user typed, grown
 * a page at a time on request, never the whole list. Refreshing asks for
 * that window again (and, for users, for the online ones in the same range),
 * so what the client polls is at most what it shows, however many names the
 * server holds.
 *
 * @module
 */

/** Names shown at first, and added by each "more". */
export const PAGE_SIZE = 50;
/** The most names a window shows (also the server's largest `limit`). */
export const MAX_SHOWN = 1000;

// The name alphabet in the server's order (UTF-16 code units).
const ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const NAME_MAX = 30;
const NAME_MIN = 4;

/**
 * The largest valid name below every name that starts with `prefix`, for
 * `after=` (which must itself be a valid name): asking for the names after it
 * starts the page at the first name with that prefix. Undefined when no valid
 * name is that low, so the page starts at the beginning.
 *
 * @param {string} prefix Characters of the name alphabet, at most 30.
 * @returns {string | undefined}
 */
export function nameBelow(prefix) {
  let p = prefix;
  while (p.length > 0) {
    const head = p.slice(0, -1);
    const i = ALPHABET.indexOf(p[p.length - 1]);
    // Anything starting with the head and a lower character, filled up with the highest.
    if (i > 0) return (head + ALPHABET[i - 1]).padEnd(NAME_MAX, ALPHABET[ALPHABET.length - 1]);
    // The lowest character: only the head itself (or what is below it) comes before.
    if (head.length >= NAME_MIN) return head;
    p = head;
  }
  return undefined;
}

/** The characters a search may hold (the name alphabet), else it matches nothing. */
export const SEARCH = /^[a-zA-Z0-9_-]{0,30}$/;

/**
 * @typedef {object} NamePage
 * @property {string[]} names
 * @property {number} total
 */
/**
 * @typedef {(page: {after?: string, limit: number, online?: boolean}) => Promise<NamePage>} PageFetcher
 */

/** A window onto users or topics. */
export class Directory {
  /** The prefix typed by the user ("" for all). */
  query = "";
  /** How many names the window may show. */
  shown = PAGE_SIZE;
  /** The names in the window, by name. @type {string[]} */
  names = [];
  /** Whether more names with the prefix follow the window. */
  more = false;
  /** How many names the server holds in all (users or topics). */
  total = 0;
  /** Online names in the window's range (users only). @type {Set<string>} */
  online = new Set();
  /** Whether the window has been loaded at least once for the current query. */
  loaded = false;
  // The window's range: names after `#after` up to `#end` (undefined: to the end).
  /** @type {string | undefined} */
  #after;
  /** @type {string | undefined} */
  #end;
  #generation = 0;
  #fetch;
  #withPresence;

  /**
   * @param {PageFetcher} fetch
   * @param {boolean} withPresence Also ask which names in the window are online.
   */
  constructor(fetch, withPresence) {
    this.#fetch = fetch;
    this.#withPresence = withPresence;
  }

  /**
   * Shows the names starting with `query`, from the first page.
   *
   * @param {string} query
   * @returns {boolean} Whether the query changed (the window then needs a refresh).
   */
  setQuery(query) {
    if (query === this.query) return false;
    this.query = query;
    this.shown = PAGE_SIZE;
    this.loaded = false;
    return true;
  }

  /** Grows the window by a page (up to {@linkcode MAX_SHOWN}). */
  showMore() {
    this.shown = Math.min(MAX_SHOWN, this.shown + PAGE_SIZE);
  }

  /** Whether the window could grow: more names follow and it is not at its largest. */
  get canShowMore() {
    return this.more && this.shown < MAX_SHOWN;
  }

  /**
   * Whether `name` falls in the window's range, so the window knows whether
   * it exists (and is online).
   *
   * @param {string} name
   */
  covers(name) {
    if (!this.loaded || !name.startsWith(this.query)) return false;
    if (this.#after !== undefined && name <= this.#after) return false;
    return this.#end === undefined || name <= this.#end;
  }

  /**
   * Loads the window again. Resolves true when it changed what is known;
   * an answer that a newer refresh overtook is dropped.
   *
   * @returns {Promise<boolean>}
   */
  async refresh() {
    const generation = ++this.#generation;
    const query = this.query;
    if (!SEARCH.test(query)) {
      // Nothing can match; covers() is false for every name.
      Object.assign(this, { names: [], more: false, loaded: true, online: new Set() });
      return true;
    }
    const after = query ? nameBelow(query) : undefined;
    // One more than shown tells whether more follow.
    const limit = Math.min(MAX_SHOWN, this.shown + 1);
    const [all, online] = await Promise.all([
      this.#fetch({ after, limit }),
      this.#withPresence ? this.#fetch({ after, limit, online: true }) : undefined,
    ]);
    if (generation !== this.#generation) return false;
    // Sorted from the prefix on: the names with it come first, then none has it.
    const matching = all.names.filter((name) => name.startsWith(query));
    this.more = matching.length > this.shown;
    this.names = matching.slice(0, this.shown);
    this.total = all.total;
    this.loaded = true;
    this.#after = after;
    this.#end = this.more ? this.names[this.names.length - 1] : undefined;
    // Online names are a subset: the same page of them reaches at least as far.
    this.online = new Set((online?.names ?? []).filter((name) => this.covers(name)));
    return true;
  }
}
