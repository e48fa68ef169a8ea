-- KEYS[1]=lock key; ARGV: conversation id, margin (ms). Drops expired tickets.
local now = now_seconds()
local all = load_tickets(KEYS[1])
local tickets = live_tickets(all, now)
if #tickets ~= #all then store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[2])) end
return #tickets
