-- KEYS[1]=lock key; ARGV: conversation id, lifetime (s), token, margin (ms).
-- Returns the new ticket's number: one more than the last live ticket, 0 if
-- the queue is empty (Rasa's `TicketLock.issue_ticket`).
local now = now_seconds()
local tickets = live_tickets(load_tickets(KEYS[1]), now)
local number = 0
if #tickets > 0 then number = tonumber(tickets[#tickets]['number']) + 1 end
local ticket = {number = number, expires = now + tonumber(ARGV[2])}
if ARGV[3] ~= '' then ticket['token'] = ARGV[3] end
table.insert(tickets, ticket)
store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
return number
