#!/usr/bin/env bash
# Start the action server (5055) and the Rasa server (5005, REST) on 127.0.0.1.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${RASA_HOST:-127.0.0.1}"
export WEB_PORT="${WEB_PORT:-8080}"
mkdir -p var
# Channel settings come from the environment; unset means disabled (credentials.yml needs them defined).
for v in WECHAT_TOKEN WECHAT_APP_ID WECHAT_ENCODING_AES_KEY WECHAT_APP_SECRET WECHAT_API_BASE; do export "$v=${!v:-}"; done
pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; echo "小安 stopped."; }
trap cleanup INT TERM EXIT

# Keep-alive longer than Rasa's client pool keeps idle connections, so a reused
# connection is never one the action server has just closed ("closing transport").
SANIC_KEEP_ALIVE_TIMEOUT=75 .venv/bin/rasa run actions --actions actions --port 5055 >var/actions.log 2>&1 &
pids+=($!)
# The HTTP API (trackers, model, events) is open only on loopback: bound anywhere
# else it must have a token (RASA_AUTH_TOKEN, sent as ?token= or Bearer).
auth=()
if [ -n "${RASA_AUTH_TOKEN:-}" ]; then auth=(--auth-token "$RASA_AUTH_TOKEN"); fi
case "$HOST" in
  127.*|localhost|::1) ;;
  *) if [ -z "${RASA_AUTH_TOKEN:-}" ]; then
       echo "Refusing to expose Rasa's HTTP API on $HOST without a token: set RASA_AUTH_TOKEN." >&2; exit 2
     fi ;;
esac
.venv/bin/python -m xiaoan.serve run --enable-api "${auth[@]}" -i "$HOST" -p 5005 -m models \
  --credentials credentials.yml --endpoints endpoints.yml >var/rasa.log 2>&1 &
pids+=($!)

.venv/bin/python web/serve.py >var/web.log 2>&1 &
pids+=($!)

echo "Starting 小安 … (logs: var/rasa.log, var/actions.log, var/web.log)"
for _ in $(seq 1 180); do
  if curl -fs "http://$HOST:5005/status" ${RASA_AUTH_TOKEN:+-H "Authorization: Bearer $RASA_AUTH_TOKEN"} >/dev/null 2>&1 \
     || curl -fs "http://$HOST:5005/" >/dev/null 2>&1; then break; fi
  sleep 1
done
cat <<MSG

小安 is up.
  REST:   curl -s http://$HOST:5005/webhooks/rest/webhook -H 'Content-Type: application/json' \\
            -d '{"sender":"demo","message":"POS机一直提示通讯失败"}'
  Web:    http://127.0.0.1:$WEB_PORT/   (chat page)
  WeChat: http://$HOST:5005/webhooks/wechat/webhook   (set WECHAT_TOKEN etc.)
  Shell:  make shell        (in another terminal)
  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
