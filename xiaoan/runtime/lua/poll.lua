-- KEYS[1]=lock key; ARGV: conversation id, ticket number, token, margin (ms),
-- lifetime (s). Drops expired tickets and renews this ticket's lifetime: a
-- ticket lives while its owner keeps polling (waiting in the queue, however
-- long) and for one lifetime after the owner's last poll, so the ticket of a
-- server that died expires while the live servers' waiting tickets do not.
-- Returns {state, now_serving, lock json}: state 1 = this ticket is being
-- served, 0 = wait, -1 = this ticket is gone (expired or released).
local now = now_seconds()
local tickets = live_tickets(load_tickets(KEYS[1]), now)
local number = tonumber(ARGV[2])
local mine = false
for _, t in ipairs(tickets) do
  if matches(t, number, ARGV[3]) then
    mine = true
    t['expires'] = now + tonumber(ARGV[5])
  end
end
if not mine then
  store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
  return {-1, false, false}
end
local doc = store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
local serving = tonumber(tickets[1]['number'])
if matches(tickets[1], number, ARGV[3]) then return {1, serving, doc} end
return {0, serving, doc}
