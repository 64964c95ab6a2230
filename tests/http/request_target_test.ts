import assert from "node:assert/strict";
import { RequestTarget } from "../../lib/http/request_target.ts";

Deno.test("request target: the path as sent, without query or fragment", () => {
  const cases: [string, string, string][] = [
    ["http://h/api/messages", "/api/messages", ""],
    ["http://h:8080/api/ws?since=3&sid=x", "/api/ws", "since=3&sid=x"],
    ["http://h/a%2Fb/%2e%2e/c", "/a%2Fb/%2e%2e/c", ""],
    ["http://h/a/../b?x=1#frag?y=2", "/a/../b", "x=1"],
    ["http://h/a#frag?y=2", "/a", ""],
    ["http://h/?", "/", ""],
    ["http://h", "/", ""],
    ["http://[::1]:80//api", "//api", ""],
  ];
  for (const [url, pathname, search] of cases) {
    const target = new RequestTarget(url);
    assert.equal(target.pathname, pathname, url);
    assert.equal(target.query.toString(), new URLSearchParams(search).toString(), url);
  }
});

Deno.test("request target: the query decodes as URL's searchParams does", () => {
  const url = "http://h/api/users?offset=10&limit=%32&name=a+b&name=%E9%AD%94&empty=&flag";
  const ours = new RequestTarget(url).query;
  const theirs = new URL(url).searchParams;
  assert.deepEqual([...ours], [...theirs]);
  const target = new RequestTarget(url);
  assert.equal(target.query, target.query, "parsed once");
});
