import assert from "node:assert/strict";
import { isName, NAME_PATTERN } from "../../lib/protocol/names.ts";

Deno.test("names: valid names are 4-30 characters of a-z, A-Z, 0-9, _ and -", () => {
  for (
    const name of ["Harry", "abcd", "a".repeat(30), "philosophers_stone", "A-b_9", "0000", "____"]
  ) {
    assert.equal(isName(name), true, name);
    assert.equal(NAME_PATTERN.test(name), true, name);
  }
});

Deno.test("names: everything else is rejected", () => {
  const bad: unknown[] = [
    "Ron",
    "",
    "a".repeat(31),
    "H\u0430rry", // Cyrillic a
    "Harry Potter",
    "Harry!",
    "Harry.",
    "Harry/x",
    "Harry\n",
    "\nHarry",
    " Harry",
    "Harry\u200b",
    "\uff28arry", // fullwidth H
    "caf\u00e9s",
    "\ud83e\udd89\ud83e\udd89",
    null,
    undefined,
    12345,
    ["Harry"],
    { name: "Harry" },
  ];
  for (const value of bad) assert.equal(isName(value), false, JSON.stringify(value));
});
