/**
 * The Lua scripts of `RedisDirectory`: each change is one script, so the
 * caps and the one-session-per-user rule hold across every node.
 *
 * ## Key layout (`P` is the prefix, default `im:`)
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P d:users` | zset | every user, score 0, so ZRANGE BYLEX pages them by name |
 * | `P d:pw` | hash | user → password hash (password mode) |
 * | `P d:sessions` | zset | live sessions: member sid, score lastSeen (ms); the idle-expiry index and the count `maxSessions` caps |
 * | `P d:s:<sid>` | string | the session's user |
 * | `P d:su:<user>` | string | the user's one live sid |
 * | `P d:topics` | zset | every topic, score 0 |
 * | `P d:tm:<topic>` | set | the topic's members |
 * | `P d:ended` | channel | `node\nwhy\nsid\nuser` for every session ended (`replaced`, `closed`, `expired`) |
 *
 * `d:s:` and `d:su:` also carry a key TTL of twice the session TTL,
 * refreshed when a sign of life is written: a safety net for a cluster that
 * stops sweeping; expiry itself compares `d:sessions` scores with the
 * caller's clock.
 *
 * ## Scripts (ARGV[1] is always the prefix, ARGV[2] the node's id)
 *
 * Every reply starts with the three counts `users sessions topics`.
 *
 * - {@linkcode OPEN_SESSION}: `user sid now oldest maxUsers maxSessions gcMs budget` →
 *   `users_full`, `sessions_full` (after expiring idle sessions), or
 *   `opened [oldSid oldLastSeen]`: the user's previous session ends in the same step.
 * - {@linkcode LOOKUP}: `sid oldest localSeen` → `user lastSeen`, or nothing
 *   (ending the session if it is idle past `oldest`). The directory reads a
 *   live session with plain `ZSCORE`/`GET` and runs this only on one it
 *   finds idle or half gone, to end it atomically.
 * - {@linkcode CLOSE_SESSION}: `sid` → `1` if it was live.
 * - {@linkcode KEEPALIVE}: `gcMs sid lastSeen …`: raises scores (never lowers
 *   them); answers the sids that are no longer live.
 * - {@linkcode SWEEP_SESSIONS}: `oldest budget` → `sid user lastSeen …` ended.
 * - {@linkcode REGISTER}: `user hash maxUsers` → `registered|exists|users_full`.
 * - {@linkcode CREATE_TOPIC}: `topic creator maxTopics` → `created|exists|topics_full`.
 * - {@linkcode DELETE_TOPIC}: `topic` → `0`, or `1` and the members it had.
 * - {@linkcode JOIN}: `topic user…`, {@linkcode QUIT}: `topic user` → `0` if no such topic.
 * - {@linkcode MEMBERS}: `topic` → `0`, or `1` and the members.
 *
 * @module
 */

import { RedisScript } from "../redis/script.ts";

const PRELUDE = `
local P = ARGV[1]
local USERS, SESSIONS, TOPICS, PW = P .. 'd:users', P .. 'd:sessions', P .. 'd:topics', P .. 'd:pw'
local function skey(sid) return P .. 'd:s:' .. sid end
local function ukey(user) return P .. 'd:su:' .. user end
local function mkey(topic) return P .. 'd:tm:' .. topic end
local function counts(reply)
  local out = {redis.call('ZCARD', USERS), redis.call('ZCARD', SESSIONS), redis.call('ZCARD', TOPICS)}
  for _, v in ipairs(reply) do out[#out + 1] = v end
  return out
end
-- Ends a session and tells every node why; returns its user ('' if its key is gone).
local function drop(sid, why)
  local user = redis.call('GET', skey(sid))
  redis.call('DEL', skey(sid))
  redis.call('ZREM', SESSIONS, sid)
  if user and redis.call('GET', ukey(user)) == sid then redis.call('DEL', ukey(user)) end
  if user then redis.call('PUBLISH', P .. 'd:ended', ARGV[2] .. '\\n' .. why .. '\\n' .. sid .. '\\n' .. user) end
  return user or ''
end
-- Ends up to budget sessions last seen at or before oldest.
local function expire(oldest, budget)
  local found = redis.call('ZRANGEBYSCORE', SESSIONS, '-inf', oldest, 'WITHSCORES', 'LIMIT', 0, budget)
  local out = {}
  for i = 1, #found, 2 do
    out[#out + 1] = found[i]
    out[#out + 1] = drop(found[i], 'expired')
    out[#out + 1] = found[i + 1]
  end
  return out
end
`;

function script(body: string): RedisScript {
  return new RedisScript(PRELUDE + body);
}

/** Opens a session, creating the user, replacing their previous session. */
export const OPEN_SESSION: RedisScript = script(`
local user, sid = ARGV[3], ARGV[4]
local known = redis.call('ZSCORE', USERS, user)
if not known and redis.call('ZCARD', USERS) >= tonumber(ARGV[7]) then return counts({'users_full'}) end
local old = redis.call('GET', ukey(user))
local oldSeen = old and redis.call('ZSCORE', SESSIONS, old)
if not oldSeen then
  old = false
  if redis.call('ZCARD', SESSIONS) >= tonumber(ARGV[8]) then
    expire(tonumber(ARGV[6]), tonumber(ARGV[10]))
    if redis.call('ZCARD', SESSIONS) >= tonumber(ARGV[8]) then return counts({'sessions_full'}) end
  end
end
if not known then redis.call('ZADD', USERS, 0, user) end
if old then drop(old, 'replaced') end
redis.call('SET', skey(sid), user, 'PX', ARGV[9])
redis.call('SET', ukey(user), sid, 'PX', ARGV[9])
redis.call('ZADD', SESSIONS, ARGV[5], sid)
if old then return counts({'opened', old, oldSeen}) end
return counts({'opened'})
`);

/** Finds a live session by sid. */
export const LOOKUP: RedisScript = script(`
local sid = ARGV[3]
local seen = redis.call('ZSCORE', SESSIONS, sid)
if not seen then return counts({}) end
local user = redis.call('GET', skey(sid))
if not user or math.max(tonumber(seen), tonumber(ARGV[5])) <= tonumber(ARGV[4]) then
  drop(sid, 'expired')
  return counts({})
end
return counts({user, seen})
`);

/** Ends a session. */
export const CLOSE_SESSION: RedisScript = script(`
if not redis.call('ZSCORE', SESSIONS, ARGV[3]) then return counts({0}) end
drop(ARGV[3], 'closed')
return counts({1})
`);

/** Writes signs of life. */
export const KEEPALIVE: RedisScript = script(`
local dead = {}
for i = 4, #ARGV, 2 do
  local sid = ARGV[i]
  local user = redis.call('GET', skey(sid))
  if user and redis.call('ZSCORE', SESSIONS, sid) then
    redis.call('ZADD', SESSIONS, 'XX', 'GT', ARGV[i + 1], sid)
    redis.call('PEXPIRE', skey(sid), ARGV[3])
    redis.call('PEXPIRE', ukey(user), ARGV[3])
  else
    dead[#dead + 1] = sid
  end
end
return counts(dead)
`);

/** Ends idle sessions. */
export const SWEEP_SESSIONS: RedisScript = script(`
return counts(expire(tonumber(ARGV[3]), tonumber(ARGV[4])))
`);

/** Creates a user with a password hash. */
export const REGISTER: RedisScript = script(`
if redis.call('ZSCORE', USERS, ARGV[3]) then return counts({'exists'}) end
if redis.call('ZCARD', USERS) >= tonumber(ARGV[5]) then return counts({'users_full'}) end
redis.call('ZADD', USERS, 0, ARGV[3])
redis.call('HSET', PW, ARGV[3], ARGV[4])
return counts({'registered'})
`);

/** Creates a topic with its creator as the first member. */
export const CREATE_TOPIC: RedisScript = script(`
if redis.call('ZSCORE', TOPICS, ARGV[3]) then return counts({'exists'}) end
if redis.call('ZCARD', TOPICS) >= tonumber(ARGV[5]) then return counts({'topics_full'}) end
redis.call('ZADD', TOPICS, 0, ARGV[3])
redis.call('DEL', mkey(ARGV[3]))
redis.call('SADD', mkey(ARGV[3]), ARGV[4])
return counts({'created'})
`);

/** Deletes a topic, answering its members. */
export const DELETE_TOPIC: RedisScript = script(`
if not redis.call('ZSCORE', TOPICS, ARGV[3]) then return counts({0}) end
local members = redis.call('SMEMBERS', mkey(ARGV[3]))
redis.call('DEL', mkey(ARGV[3]))
redis.call('ZREM', TOPICS, ARGV[3])
table.insert(members, 1, 1)
return counts(members)
`);

/** Adds members to a topic. */
export const JOIN: RedisScript = script(`
if not redis.call('ZSCORE', TOPICS, ARGV[3]) then return counts({0}) end
if #ARGV >= 4 then redis.call('SADD', mkey(ARGV[3]), unpack(ARGV, 4)) end
return counts({1})
`);

/** Removes a member from a topic. */
export const QUIT: RedisScript = script(`
if not redis.call('ZSCORE', TOPICS, ARGV[3]) then return counts({0}) end
redis.call('SREM', mkey(ARGV[3]), ARGV[4])
return counts({1})
`);

/** A topic's members. */
export const MEMBERS: RedisScript = script(`
if not redis.call('ZSCORE', TOPICS, ARGV[3]) then return counts({0}) end
local members = redis.call('SMEMBERS', mkey(ARGV[3]))
table.insert(members, 1, 1)
return counts(members)
`);

/** Every script, to compute their digests at start. */
export const DIRECTORY_SCRIPTS: readonly RedisScript[] = [
  OPEN_SESSION,
  LOOKUP,
  CLOSE_SESSION,
  KEEPALIVE,
  SWEEP_SESSIONS,
  REGISTER,
  CREATE_TOPIC,
  DELETE_TOPIC,
  JOIN,
  QUIT,
  MEMBERS,
];
