import assert from "node:assert/strict";
import { RequestTarget } from "../../lib/http/request_target.ts";
import { sessionToken } from "../../lib/http/session_token.ts";

const SID = "HwKdL19IAGnc3NRyuRR-0n4-bmalu9yR";

function tokenOf(authorization: string, url = "http://h/api/users"): string | undefined {
  const request = new Request(url, { headers: { authorization } });
  return sessionToken(request, new RequestTarget(url));
}

Deno.test("session token: Bearer in any form the scheme allows", () => {
  for (const value of [`Bearer ${SID}`, `bearer ${SID}`, `BEARER\t${SID}  `, `Bearer   ${SID}`]) {
    assert.equal(tokenOf(value), SID, JSON.stringify(value));
  }
  // Whitespace beyond ASCII counts as whitespace, as the scheme's regex has it.
  assert.equal(tokenOf(`Bearer\u00a0${SID}`), SID);
});

Deno.test("session token: anything else is no token, and ?sid= counts only then", () => {
  for (const value of ["Bearer", "Bearer ", `Bearer${SID}`, `Bearer ${SID} x`, `Basic ${SID}`]) {
    assert.equal(tokenOf(value), undefined, JSON.stringify(value));
  }
  // A token with non-ASCII inside is taken by the regex, as it always was.
  assert.equal(tokenOf(`Bearer ${SID}\u00ff`), `${SID}\u00ff`);
  assert.equal(tokenOf("Basic x", `http://h/api/ws?sid=${SID}`), SID);
  assert.equal(tokenOf(`Bearer ${SID}`, "http://h/api/ws?sid=other"), SID, "the header wins");
});
