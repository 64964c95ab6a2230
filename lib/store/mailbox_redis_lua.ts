/**
 * The Lua scripts of `RedisMailbox`: every change to the mailboxes is one
 * script, so it is atomic across all nodes sharing the Redis.
 *
 * ## Key layout (`P` is the prefix, default `im:`)
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P u:<user>` | hash | `last` (the user's seq counter), `cur` (cursor), `lost` (highest seq expired or trimmed away), `trim` (the cursor when its unread list was last trimmed); its existence is the mailbox's (an append learns that it made a new one from `last` answering 1) |
 * | `P b:<user>` | zset | the mailbox: score seq, member `seq\|sentAt\|k\|x\|id` (k: `d` direct, `D` own direct, `t` topic, `T` own topic, `n` deletion notice; x: the sender for `d`, the recipients `a,b` for `D`, the topic otherwise) |
 * | `P n:<user>` | list | undelivered entries (own copies never), `seq:sentAt`, oldest first: the `mailboxMax` count is its length once its consumed or expired head is dropped (done when cursors move, when messages expire, and by an append whose RPUSH answers a length over the cap); a caught-up cursor empties it only every 8 seqs (so up to 8 consumed items may stay at its head, which every count drops first) |
 * | `P m:<id>` | string | the message body, once per send: JSON `[sentAt, id, kind, from, to, topic, content]` |
 * | `P h:<id>` | string | the message's meta: `sentAt\|bytes\|topic\|user,seq,own;…` (topic only for topic messages; holders in append order) |
 * | `P log` | list | `sentAt\|id` of every message in send order: expiry and trimming take from its head |
 * | `P t:<topic>` | set | ids of the topic's messages (what `purgeTopic` removes) |
 * | `P r:<user>:<key>` | string | an idempotency receipt `sentAt\|id\|bodyHash` (PX offline TTL) |
 * | `P a:<id>` | string | `f`: a fence (a send given up as unavailable; PX 10 min), or the meta of a message removed while young (so a late duplicate of its append stays a duplicate) |
 * | `P stats` | hash | `entries`, `messages`, `bytes`, `boxes`, and `clock`: the newest sentAt stored (sends are stamped with max(their own, this)) |
 * | `P wake` | channel | one wake-up per append: `node\nbody\nholders` |
 *
 * Seqs are per user and strictly increasing (HINCRBY); sentAt never goes
 * back (the clock), so each mailbox, the unread lists and the log are in
 * seq order and sent-at order at once, which is what lets the scripts
 * binary-search by time and trim from the head.
 *
 * ## Scripts (ARGV[1] is always the prefix)
 *
 * - {@linkcode APPEND}: `node id sentAt now tail bytes kRecv xRecv kOwn xOwn from offlineTtl
 *   mailboxMax maxBytes maxMailboxes receiptKey bodyHash topic trimBudget sid seenAfter
 *   recipient…`.
 *   A message id seen before answers `dup meta` (its first result), `gone meta`
 *   (appended, then removed) or `fenced`, and changes nothing; then, with a
 *   `sid`, `unverified` unless it is the sender's session (`d:s:<sid>`, the
 *   directory's) last seen after `seenAfter` (`d:sessions`); then the receipt
 *   (`replayed id sentAt`, `key_conflict`), the caps (`mailbox_full user`,
 *   `mailboxes_full`, `store_full` after trimming what it may), and finally
 *   `appended meta`. Replies end with the four stats.
 * - {@linkcode FENCE}: `id lateMs`: `dup meta`/`gone meta` if that append ran,
 *   else records the fence and answers `fenced`: from then on the append
 *   cannot run. Replies end with the four stats.
 * - {@linkcode READ}: `user after limit` → `member, body, …`.
 * - {@linkcode POSITION}: `user since deliverableFrom` → `exists last cur lost first next`.
 * - {@linkcode HISTORY}: `user a|b bound want with topic cutoff budget` →
 *   `nextBound member body …`, nextBound `""` when the scan is complete.
 * - {@linkcode CURSORS}: `deliverableFrom user seq …`: moves cursors forward.
 * - {@linkcode SWEEP}: `now retainedFrom deliverableFrom budget` → stats.
 * - {@linkcode PURGE}: `topic now deliverableFrom budget` → `left` then stats.
 *
 * @module
 */

import { RedisScript } from "../redis/script.ts";

/** How long a fence, or a young removed message's record, outlives it (a late duplicate's window). */
export const LATE_MS = 600_000;

// Consumed items an unread list may keep at its head between trims (plus one).
const TRIM_EVERY = 8;

// Helpers every script may use. Whole numbers are formatted with %d: Lua
// 5.1's tostring prints large ones in exponent notation, and %.0f goes
// through the floating-point printf, twice as slow here.
const PRELUDE = `
local P = ARGV[1]
local STATS = P .. 'stats'
local LATE = ${LATE_MS}
-- A caught-up cursor trims the unread list once it has moved this far past the last trim.
local TRIM_EVERY = ${TRIM_EVERY}
local function int(n) return string.format('%d', n) end
local function ukey(user) return P .. 'u:' .. user end
local function bkey(user) return P .. 'b:' .. user end
local function nkey(user) return P .. 'n:' .. user end
local function parseMeta(meta)
  local sent, bytes, topic, holders = string.match(meta, '^(%d+)|(%d+)|([^|]*)|(.*)$')
  return sent, tonumber(bytes), topic, holders
end
local function withStats(reply)
  local s = redis.call('HMGET', STATS, 'entries', 'messages', 'bytes', 'boxes')
  for i = 1, 4 do reply[#reply + 1] = s[i] end
  return reply
end
-- Drops the head of user's unread list that is consumed (seq <= cur) or
-- expired (sentAt <= from): a prefix, found by binary search. Returns what is left.
local function prune(user, cur, from)
  local key = nkey(user)
  local function parse(item)
    local seq, sent = string.match(item, '^(%d+):(%d+)$')
    return tonumber(seq), tonumber(sent)
  end
  local function passed(item)
    local seq, sent = parse(item)
    return seq <= cur or sent <= from
  end
  local function gone(i) return passed(redis.call('LINDEX', key, i)) end
  -- Mostly all of it is gone (a socket got everything): one look at the tail.
  local tail = redis.call('LINDEX', key, -1)
  if not tail then return 0 end
  if passed(tail) then
    redis.call('DEL', key)
    return 0
  end
  local n = redis.call('LLEN', key)
  if not gone(0) then return n end
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if gone(mid) then lo = mid + 1 else hi = mid end
  end
  redis.call('LTRIM', key, lo, -1)
  return n - lo
end
local function cursorOf(user) return tonumber(redis.call('HGET', ukey(user), 'cur') or 0) end
-- Removes a message and its entries. lost: expired or trimmed (a loss for a
-- resume from before it); else purged. Returns its bytes and entry count.
local function removeMessage(id, meta, lost, now, from)
  local sent, bytes, topic, holders = parseMeta(meta)
  local count = 0
  for user, seq, own in string.gmatch(holders, '([^,;]+),(%d+),(%d)') do
    count = count + 1
    redis.call('ZREMRANGEBYSCORE', bkey(user), seq, seq)
    local cur = cursorOf(user)
    if lost then
      if tonumber(redis.call('HGET', ukey(user), 'lost') or 0) < tonumber(seq) then
        redis.call('HSET', ukey(user), 'lost', seq)
      end
      prune(user, cur, from)
    elseif own == '0' and tonumber(seq) > cur then
      redis.call('LREM', nkey(user), 1, seq .. ':' .. sent)
    end
  end
  redis.call('DEL', P .. 'm:' .. id, P .. 'h:' .. id)
  if topic ~= '' then redis.call('SREM', P .. 't:' .. topic, id) end
  redis.call('HINCRBY', STATS, 'bytes', -bytes)
  redis.call('HINCRBY', STATS, 'messages', -1)
  -- Lua's -0 reaches Redis as "-0", which HINCRBY refuses: a message with
  -- no holders (a deleted topic's notice to no one) would stop every sweep.
  if count > 0 then redis.call('HINCRBY', STATS, 'entries', -count) end
  if now - tonumber(sent) < LATE then redis.call('SET', P .. 'a:' .. id, meta, 'PX', LATE) end
  return bytes, count
end
-- What an append of this id did before, if it ran or was fenced.
local function prior(id)
  local found = redis.call('MGET', P .. 'h:' .. id, P .. 'a:' .. id)
  if found[1] then return {'dup', found[1]} end
  local record = found[2]
  if record == 'f' then return {'fenced'} end
  if record then return {'gone', record} end
  return nil
end
`;

function script(body: string): RedisScript {
  return new RedisScript(PRELUDE + body);
}

/** Appends one message to every recipient and the sender's copy, or refuses it whole. */
export const APPEND: RedisScript = script(`
local node, id, now = ARGV[2], ARGV[3], tonumber(ARGV[5])
local before = prior(id)
if before then return withStats(before) end
local from = now - tonumber(ARGV[13])
local sender = ARGV[12]
if ARGV[21] ~= '' then
  local seen = redis.call('ZSCORE', P .. 'd:sessions', ARGV[21])
  if not seen or tonumber(seen) <= tonumber(ARGV[22])
      or redis.call('GET', P .. 'd:s:' .. ARGV[21]) ~= sender then
    return withStats({'unverified'})
  end
end
local rkey
if ARGV[17] ~= '' then
  rkey = P .. 'r:' .. sender .. ':' .. ARGV[17]
  local r = redis.call('GET', rkey)
  if r then
    local rsent, rid, rhash = string.match(r, '^(%d+)|([^|]*)|(.*)$')
    if tonumber(rsent) > from then
      if rhash == ARGV[18] then return withStats({'replayed', rid, rsent}) end
      return withStats({'key_conflict'})
    end
  end
end
local max = tonumber(ARGV[14])
-- One read and one write of the counters and the clock per append.
local function counters()
  local c = redis.call('HMGET', STATS, 'entries', 'messages', 'bytes', 'boxes', 'clock')
  for i = 1, 5 do c[i] = tonumber(c[i] or 0) end
  return c
end
local c = counters()
-- As given unless the clock is ahead or it is not a whole number: every
-- number Lua turns into a string is an sprintf.
local sent = ARGV[4]
if tonumber(sent) < c[5] then sent = int(c[5]) elseif not string.find(sent, '^%d+$') then sent = int(math.floor(tonumber(sent) + 0.5)) end
-- Seqs and unread items are written first, because their answers are what
-- the caps need: HINCRBY's 1 is a new mailbox, RPUSH's length the unread
-- count. A refusal takes them back (nobody saw them: the script is atomic).
-- Entries go in parallel lists (a table each costs more): the recipients
-- (ARGV[23] on) first, then the sender's copy.
local users, seqs, fresh, newBoxes = {}, {}, {}, 0
local unreadTail = ':' .. sent
local function take(user, isOwn)
  local u = ukey(user)
  local seq = redis.call('HINCRBY', u, 'last', '1')
  local n = #users + 1
  if seq == 1 then
    redis.call('HSET', u, 'cur', '0', 'lost', '0')
    newBoxes = newBoxes + 1
    fresh[n] = true
  end
  seq = tostring(seq)
  users[n], seqs[n] = user, seq
  if isOwn then return true end
  if redis.call('RPUSH', nkey(user), seq .. unreadTail) <= max then return true end
  return prune(user, cursorOf(user), from) <= max
end
local own, recipients = ARGV[10] ~= '', #ARGV - 22
local function refuse(reply)
  for i = #users, 1, -1 do
    local user = users[i]
    if i <= recipients then redis.call('RPOP', nkey(user)) end
    if fresh[i] then redis.call('DEL', ukey(user)) else redis.call('HINCRBY', ukey(user), 'last', '-1') end
  end
  return withStats(reply)
end
for i = 23, #ARGV do
  if not take(ARGV[i], false) then return refuse({'mailbox_full', ARGV[i]}) end
end
if own then take(sender, true) end
if newBoxes > 0 and c[4] + newBoxes > tonumber(ARGV[16]) then
  return refuse({'mailboxes_full'})
end
local bytes = tonumber(ARGV[7])
local need = c[3] + bytes - tonumber(ARGV[15])
if need > 0 then
  -- Oldest first, only what no recipient still waits for; stops at the first that one does.
  local log, freed = P .. 'log', 0
  for _ = 1, tonumber(ARGV[20]) do
    if freed >= need then break end
    local head = redis.call('LINDEX', log, 0)
    if not head then break end
    local hsent, mid = string.match(head, '^(%d+)|(.*)$')
    local meta = redis.call('GET', P .. 'h:' .. mid)
    if meta then
      if tonumber(hsent) > from then
        for user, seq, o in string.gmatch(select(4, parseMeta(meta)), '([^,;]+),(%d+),(%d)') do
          if o == '0' and tonumber(seq) > cursorOf(user) then return refuse({'store_full'}) end
        end
      end
      freed = freed + removeMessage(mid, meta, true, now, from)
    end
    redis.call('LPOP', log)
  end
  if freed < need then return refuse({'store_full'}) end
  c = counters()
end
local body = '[' .. sent .. ARGV[6]
-- What every entry's member and holder ends with, built once.
local holders, memberTail, holderTail = {}, '|' .. sent .. '|' .. ARGV[8] .. '|' .. ARGV[9] .. '|' .. id, ',0'
for i = 1, #users do
  if i > recipients then
    memberTail, holderTail = '|' .. sent .. '|' .. ARGV[10] .. '|' .. ARGV[11] .. '|' .. id, ',1'
  end
  local seq = seqs[i]
  redis.call('ZADD', bkey(users[i]), seq, seq .. memberTail)
  holders[i] = users[i] .. ',' .. seq .. holderTail
end
local list = table.concat(holders, ';')
local meta = sent .. '|' .. ARGV[7] .. '|' .. ARGV[19] .. '|' .. list
redis.call('MSET', P .. 'm:' .. id, body, P .. 'h:' .. id, meta)
redis.call('RPUSH', P .. 'log', sent .. '|' .. id)
if ARGV[19] ~= '' then redis.call('SADD', P .. 't:' .. ARGV[19], id) end
if rkey then redis.call('SET', rkey, sent .. '|' .. id .. '|' .. ARGV[18], 'PX', ARGV[13]) end
c = {int(c[1] + #holders), int(c[2] + 1), int(c[3] + bytes), int(c[4] + newBoxes)}
redis.call('HSET', STATS, 'entries', c[1], 'messages', c[2], 'bytes', c[3], 'boxes', c[4], 'clock', sent)
redis.call('PUBLISH', P .. 'wake', node .. '\\n' .. body .. '\\n' .. list)
return {'appended', meta, c[1], c[2], c[3], c[4]}
`);

/** Learns whether an append ran, and if not, makes sure it never will. */
export const FENCE: RedisScript = script(`
local before = prior(ARGV[2])
if before then return withStats(before) end
redis.call('SET', P .. 'a:' .. ARGV[2], 'f', 'PX', ARGV[3])
return withStats({'fenced'})
`);

/** A user's entries after a seq, each with its body. */
export const READ: RedisScript = script(`
local out = {}
local members = redis.call('ZRANGE', bkey(ARGV[2]), '(' .. ARGV[3], '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[4])
for _, m in ipairs(members) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('GET', P .. 'm:' .. string.match(m, '|([^|]*)$'))
end
return out
`);

/** A mailbox's numbers: its counters, its first deliverable seq, its first seq after `since`. */
export const POSITION: RedisScript = script(`
local h = redis.call('HMGET', ukey(ARGV[2]), 'last', 'cur', 'lost')
if not h[1] then return {0} end
local b, from = bkey(ARGV[2]), tonumber(ARGV[4])
local function at(i) return redis.call('ZRANGE', b, i, i)[1] end
local function seqOf(m) return tonumber(string.match(m, '^(%d+)|')) end
local function sentOf(m) return tonumber(string.match(m, '^%d+|(%d+)|')) end
local n = redis.call('ZCARD', b)
local lo, hi = 0, n
if n > 0 and sentOf(at(0)) > from then hi = 0 end
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if sentOf(at(mid)) <= from then lo = mid + 1 else hi = mid end
end
local first = tonumber(h[1]) + 1
if lo < n then first = seqOf(at(lo)) end
local nextSeq = 0
local after = redis.call('ZRANGE', b, '(' .. ARGV[3], '+inf', 'BYSCORE', 'LIMIT', 0, 1)[1]
if after then nextSeq = seqOf(after) end
return {1, tonumber(h[1]), tonumber(h[2] or 0), tonumber(h[3] or 0), first, nextSeq}
`);

/** Scans a mailbox for a history page, at most `budget` entries per call. */
export const HISTORY: RedisScript = script(`
local b, forward, bound = bkey(ARGV[2]), ARGV[3] == 'a', ARGV[4]
local want, with, topic = tonumber(ARGV[5]), ARGV[6], ARGV[7]
local cutoff, budget = tonumber(ARGV[8]), tonumber(ARGV[9])
local out, found, scanned = {''}, 0, 0
local function matches(k, x)
  if with ~= '' then
    return (k == 'd' and x == with) or (k == 'D' and string.find(',' .. x .. ',', ',' .. with .. ',', 1, true) ~= nil)
  end
  if topic ~= '' then return k ~= 'd' and k ~= 'D' and x == topic end
  return true
end
while scanned < budget do
  local members
  if forward then
    members = redis.call('ZRANGE', b, bound, '+inf', 'BYSCORE', 'LIMIT', 0, 100)
  else
    members = redis.call('ZRANGE', b, bound, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 100)
  end
  if #members == 0 then return out end
  for _, m in ipairs(members) do
    scanned = scanned + 1
    local seq, sent, k, x, id = string.match(m, '^(%d+)|(%d+)|(%a)|([^|]*)|(.*)$')
    bound = '(' .. seq
    if tonumber(sent) <= cutoff then
      -- Older entries are all older still: a backward scan is complete.
      if not forward then return out end
    elseif matches(k, x) then
      out[#out + 1] = m
      out[#out + 1] = redis.call('GET', P .. 'm:' .. id)
      found = found + 1
      if found >= want then return out end
    end
  end
end
out[1] = bound
return out
`);

/** Moves cursors forward (never back) and drops what they passed from the unread lists. */
export const CURSORS: RedisScript = script(`
local from = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local user, seq = ARGV[i], tonumber(ARGV[i + 1])
  local h = redis.call('HMGET', ukey(user), 'cur', 'last', 'trim')
  if h[1] and seq > tonumber(h[1]) then
    if seq < tonumber(h[2] or 0) then
      redis.call('HSET', ukey(user), 'cur', seq, 'trim', seq)
      prune(user, seq, from)
    elseif seq - tonumber(h[3] or 0) >= TRIM_EVERY then
      -- Caught up (the usual case): every item is consumed, no need to look;
      -- emptied once every few cursor moves rather than at each.
      redis.call('HSET', ukey(user), 'cur', seq, 'trim', seq)
      redis.call('DEL', nkey(user))
    else
      redis.call('HSET', ukey(user), 'cur', seq)
    end
  end
end
return 0
`);

/** Removes messages past both TTLs from the head of the log, about `budget` entries a call. */
export const SWEEP: RedisScript = script(`
local now, retainedFrom, from, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local log, removed = P .. 'log', 0
while removed < budget do
  local head = redis.call('LINDEX', log, 0)
  if not head then break end
  local sent, id = string.match(head, '^(%d+)|(.*)$')
  local meta = redis.call('GET', P .. 'h:' .. id)
  if meta then
    if tonumber(sent) > retainedFrom then break end
    local _, count = removeMessage(id, meta, true, now, from)
    removed = removed + count
  else
    removed = removed + 1
  end
  redis.call('LPOP', log)
end
return withStats({})
`);

/** Removes a topic's messages, about `budget` entries a call; answers how many are left. */
export const PURGE: RedisScript = script(`
local key = P .. 't:' .. ARGV[2]
local now, from, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local removed = 0
while removed < budget do
  local id = redis.call('SPOP', key)
  if not id then break end
  local meta = redis.call('GET', P .. 'h:' .. id)
  if meta then
    local _, count = removeMessage(id, meta, false, now, from)
    removed = removed + count
  end
end
return withStats({redis.call('SCARD', key)})
`);

/** Every script, to compute their digests at start. */
export const MAILBOX_SCRIPTS: readonly RedisScript[] = [
  APPEND,
  FENCE,
  READ,
  POSITION,
  HISTORY,
  CURSORS,
  SWEEP,
  PURGE,
];
