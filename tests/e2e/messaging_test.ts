import assert from "node:assert/strict";
import { api, expectSentinel, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("one-to-one: batch send reaches each recipient separately, to names only them", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  const hermione = await login(server, "Hermione");
  await using ronSocket = await TestSocket.open(server, ron);
  await using hermioneSocket = await TestSocket.open(server, hermione);

  const sent = await sendDirect(server, harry, "Harry", ["Ron_W", "Hermione"], "Are you OK ?");
  assert.equal(sent.status, 200);
  assert.equal(sent.headers.get("content-type")?.startsWith("application/json"), true);

  assert.deepEqual(await ronSocket.next(), {
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    topic: "",
    "content-type": "text/plain",
    content: "Are you OK ?",
  });
  assert.deepEqual((await hermioneSocket.next()).to, ["Hermione"]);
});

Deno.test("one-to-one: a duplicated recipient gets the message once; an empty topic means one-to-one", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  await using ronSocket = await TestSocket.open(server, ron);
  const result = await api(server, "POST", "/api/messages", {
    sid: harry,
    body: {
      "message-type": "message",
      from: "Harry",
      to: ["Ron_W", "Ron_W"],
      topic: "",
      "content-type": "text/plain",
      content: "",
    },
  });
  assert.equal(result.status, 200);
  assert.equal((await ronSocket.next()).content, "");
  await expectSentinel(server, ronSocket, "Ron_W");
});

Deno.test("one-to-one: messages from one sender arrive in the order they were accepted", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  await using ronSocket = await TestSocket.open(server, ron);
  for (let i = 0; i < 50; i++) {
    assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`)).status, 200);
  }
  const frames = await ronSocket.take(50);
  assert.deepEqual(frames.map((f) => f.content), Array.from({ length: 50 }, (_, i) => `m${i}`));
});

Deno.test("topics: fan-out to every member but the sender, mentions echo in to", async () => {
  await using server = await TestServer.start();
  const [harry, ron, hermione] = await Promise.all(
    ["Harry", "Ron_W", "Hermione"].map((u) => login(server, u)),
  );
  assert.equal(
    (await api(server, "POST", "/api/topics", {
      sid: harry,
      body: { topic: "philosophers_stone" },
    })).status,
    200,
  );
  assert.equal(
    (await api(server, "POST", "/api/topics/philosophers_stone/actions/join", { sid: ron })).status,
    200,
  );
  assert.equal(
    (await api(server, "POST", "/api/topics/philosophers_stone/actions/join", { sid: hermione }))
      .status,
    200,
  );
  await using harrySocket = await TestSocket.open(server, harry);
  await using ronSocket = await TestSocket.open(server, ron);
  await using hermioneSocket = await TestSocket.open(server, hermione);

  assert.equal(
    (await sendTopic(server, ron, "Ron_W", "philosophers_stone", "hello", ["Hermione"])).status,
    200,
  );
  const expected = {
    "message-type": "message",
    from: "Ron_W",
    to: ["Hermione"],
    topic: "philosophers_stone",
    "content-type": "text/plain",
    content: "hello",
  };
  assert.deepEqual(await harrySocket.next(), expected);
  assert.deepEqual(await hermioneSocket.next(), expected);
  await expectSentinel(server, ronSocket, "Ron_W", "the sender gets no copy");
});

Deno.test("topics: sending joins the sender, a mention joins the mentioned, quit stops delivery", async () => {
  await using server = await TestServer.start();
  const [harry, ron, neville] = await Promise.all(
    ["Harry", "Ron_W", "Neville"].map((u) => login(server, u)),
  );
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
  await using harrySocket = await TestSocket.open(server, harry);
  await using ronSocket = await TestSocket.open(server, ron);
  await using nevilleSocket = await TestSocket.open(server, neville);

  // Ron never joined: sending about the topic makes him a member.
  await sendTopic(server, ron, "Ron_W", "quidditch", "I'm in");
  assert.equal((await harrySocket.next()).content, "I'm in");
  await sendTopic(server, harry, "Harry", "quidditch", "welcome");
  assert.equal((await ronSocket.next()).content, "welcome");
  await expectSentinel(server, nevilleSocket, "Neville", "not a member yet");

  // A mention joins Neville: he gets this message and later ones.
  await sendTopic(server, harry, "Harry", "quidditch", "@Neville join us", ["Neville"]);
  assert.deepEqual((await nevilleSocket.next()).to, ["Neville"]);
  await sendTopic(server, ron, "Ron_W", "quidditch", "practice at 5");
  assert.equal((await nevilleSocket.next()).content, "practice at 5");

  // Quitting stops delivery until mentioned again.
  assert.equal(
    (await api(server, "POST", "/api/topics/quidditch/actions/quit", { sid: neville })).status,
    200,
  );
  await sendTopic(server, ron, "Ron_W", "quidditch", "where is Neville?");
  await expectSentinel(server, nevilleSocket, "Neville");
  await sendTopic(server, ron, "Ron_W", "quidditch", "back?", ["Neville"]);
  assert.equal((await nevilleSocket.next()).content, "back?");

  // Quitting twice, or a topic never joined, is fine; joining twice is fine.
  assert.equal(
    (await api(server, "POST", "/api/topics/quidditch/actions/quit", { sid: neville })).status,
    200,
  );
  assert.equal(
    (await api(server, "POST", "/api/topics/quidditch/actions/quit", { sid: neville })).status,
    200,
  );
  for (let i = 0; i < 2; i++) {
    assert.equal(
      (await api(server, "POST", "/api/topics/quidditch/actions/join", { sid: harry })).status,
      200,
    );
  }
  // A member who joined twice gets one copy: the sentinel after it comes next, not a duplicate.
  await sendTopic(server, ron, "Ron_W", "quidditch", "once");
  await sendDirect(server, ron, "Ron_W", ["Harry"], "sentinel");
  assert.deepEqual((await harrySocket.take(5)).map((f) => f.content), [
    "practice at 5",
    "where is Neville?",
    "back?",
    "once",
    "sentinel",
  ]);
});

Deno.test("topics: list, 409 on re-create, delete notifies every member, re-create starts empty", async () => {
  await using server = await TestServer.start();
  const [harry, ron, draco] = await Promise.all(
    ["Harry", "Ron_W", "Draco"].map((u) => login(server, u)),
  );
  assert.equal(
    (await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "potions" } })).status,
    200,
  );
  assert.equal(
    (await api(server, "POST", "/api/topics", { sid: ron, body: { topic: "charms" } })).status,
    200,
  );
  const conflict = await api(server, "POST", "/api/topics", {
    sid: ron,
    body: { topic: "potions" },
  });
  assert.equal(conflict.status, 409);
  assert.equal(typeof conflict.body.error, "string");
  assert.deepEqual((await api(server, "GET", "/api/topics", { sid: ron })).body, {
    total: 2,
    list: [{ topic: "charms" }, { topic: "potions" }], // by name
  });

  await api(server, "POST", "/api/topics/potions/actions/join", { sid: ron });
  await using harrySocket = await TestSocket.open(server, harry);
  await using ronSocket = await TestSocket.open(server, ron);
  await using dracoSocket = await TestSocket.open(server, draco);

  // Harry (a member) deletes: both members are told, Draco (not a member) is not.
  assert.equal((await api(server, "DELETE", "/api/topics/potions", { sid: harry })).status, 200);
  const notice = {
    "message-type": "system",
    topic: "__topic_is_deleted__",
    "content-type": "application/json",
    content: { topic: "potions" },
  };
  assert.deepEqual(await harrySocket.next(), notice);
  assert.deepEqual(await ronSocket.next(), notice);
  await expectSentinel(server, dracoSocket, "Draco");
  assert.equal((await api(server, "DELETE", "/api/topics/potions", { sid: harry })).status, 404);
  assert.equal(
    (await api(server, "POST", "/api/topics/potions/actions/join", { sid: harry })).status,
    404,
  );
  assert.equal(
    (await api(server, "POST", "/api/topics/potions/actions/quit", { sid: harry })).status,
    404,
  );

  // Re-created: old members are gone, only the creator is in it.
  assert.equal(
    (await api(server, "POST", "/api/topics", { sid: draco, body: { topic: "potions" } })).status,
    200,
  );
  await sendTopic(server, draco, "Draco", "potions", "mine now");
  await expectSentinel(server, harrySocket, "Harry");
  await expectSentinel(server, ronSocket, "Ron_W");
});

Deno.test("topics: unknown topic is 404 and the sender's socket gets __topic_not_found__", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await using harrySocket = await TestSocket.open(server, harry);
  await using ronSocket = await TestSocket.open(server, ron);
  const result = await sendTopic(server, harry, "Harry", "nowhere", "hello?", ["Ron_W"]);
  assert.equal(result.status, 404);
  assert.deepEqual(await harrySocket.next(), {
    "message-type": "system",
    topic: "__topic_not_found__",
    "content-type": "application/json",
    content: { topic: "nowhere" },
  });
  await expectSentinel(server, ronSocket, "Ron_W", "nothing is forwarded");
  assert.deepEqual((await api(server, "GET", "/api/topics", { sid: harry })).body, {
    total: 0,
    list: [],
  });
});

Deno.test("topics: every member sees one topic's messages in one order", async () => {
  await using server = await TestServer.start();
  const names = ["Harry", "Ron_W", "Hermione", "Ginny"];
  const sids = await Promise.all(names.map((u) => login(server, u)));
  await api(server, "POST", "/api/topics", { sid: sids[0], body: { topic: "order" } });
  for (const sid of sids.slice(1)) {
    await api(server, "POST", "/api/topics/order/actions/join", { sid });
  }
  const sockets = await Promise.all(sids.map((sid) => TestSocket.open(server, sid)));
  try {
    // Three senders at once: whatever order the server accepts, all agree.
    await Promise.all([0, 1, 2].map(async (s) => {
      for (let i = 0; i < 20; i++) {
        await sendTopic(server, sids[s], names[s], "order", `${names[s]}-${i}`);
      }
    }));
    const seen = await Promise.all(sockets.map(async (socket, i) => {
      const own = i < 3 ? 20 : 0;
      return (await socket.take(60 - own)).map((f) => f.content);
    }));
    const reference = seen[3];
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        seen[i],
        reference.filter((c: string) => !c.startsWith(`${names[i]}-`)),
      );
    }
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
  }
});
