-- KEYS[1]=lock key; ARGV: conversation id, ticket number, token ('' = any),
-- margin (ms). Removes that ticket and expired ones; deletes the key when no
-- ticket is left, in the same step, so nobody's new ticket is deleted with it.
-- Returns 1 if the ticket was there.
local now = now_seconds()
local all = load_tickets(KEYS[1])
local tickets = live_tickets(all, now)
local number = tonumber(ARGV[2])
local kept = {}
local removed = 0
for _, t in ipairs(tickets) do
  if removed == 0 and matches(t, number, ARGV[3]) then removed = 1 else table.insert(kept, t) end
end
if #kept ~= #all then
  store_tickets(KEYS[1], ARGV[1], kept, now, tonumber(ARGV[4]))
end
return removed
