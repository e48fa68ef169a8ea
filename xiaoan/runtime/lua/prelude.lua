-- Shared Lua helpers. Time comes from Redis (`TIME`), so every Rasa server
-- judges expiry by the same clock. Tickets are stored as JSON strings inside
-- the lock's JSON, exactly as Rasa's `TicketLock.dumps` writes them.
-- Loaded before each of issue.lua, poll.lua, release.lua and purge.lua (lock_store.py).
if redis.replicate_commands then redis.replicate_commands() end

local function now_seconds()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function load_tickets(key)
  local raw = redis.call('GET', key)
  local tickets = {}
  if not raw then return tickets end
  local doc = cjson.decode(raw)
  if type(doc['tickets']) ~= 'table' then return tickets end
  for _, item in ipairs(doc['tickets']) do
    if type(item) == 'string' then item = cjson.decode(item) end
    table.insert(tickets, item)
  end
  return tickets
end

-- Rasa's Ticket.has_expired: expired once now > expires.
local function live_tickets(tickets, now)
  local kept = {}
  for _, t in ipairs(tickets) do
    if tonumber(t['expires']) >= now then table.insert(kept, t) end
  end
  return kept
end

-- Write the queue back (key TTL = last expiry + margin) or delete it if empty.
local function store_tickets(key, conversation_id, tickets, now, margin_ms)
  if #tickets == 0 then
    redis.call('DEL', key)
    return false
  end
  local encoded = {}
  local last_expiry = now
  for i, t in ipairs(tickets) do
    encoded[i] = cjson.encode(t)
    if tonumber(t['expires']) > last_expiry then last_expiry = tonumber(t['expires']) end
  end
  local doc = cjson.encode({conversation_id = conversation_id, tickets = encoded})
  local ttl = math.ceil((last_expiry - now) * 1000) + margin_ms
  redis.call('SET', key, doc, 'PX', ttl)
  return doc
end

local function matches(t, number, token)
  if tonumber(t['number']) ~= number then return false end
  if token == '' or t['token'] == nil then return true end
  return t['token'] == token
end
