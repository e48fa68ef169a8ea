#!/usr/bin/env bash
# Start the action server, Rasa (REST + socket.io + WeChat) and the chat page,
# run the given command against them, stop everything.
#   scripts/with_servers.sh .venv/bin/pytest -q tests/browser
set -euo pipefail
cd "$(dirname "$0")/.."
export WEB_PORT="${WEB_PORT:-8080}" RASA_URL="${RASA_URL:-http://127.0.0.1:5005}"
export WEB_URL="${WEB_URL:-http://127.0.0.1:$WEB_PORT}"
export WECHAT_TOKEN="${WECHAT_TOKEN:-xiaoan-live-test}"
for v in WECHAT_TOKEN WECHAT_APP_ID WECHAT_ENCODING_AES_KEY WECHAT_APP_SECRET WECHAT_API_BASE; do export "$v=${!v:-}"; done
mkdir -p var screenshots; pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
# Keep-alive longer than Rasa's client pool keeps idle connections, so a reused
# connection is never one the action server has just closed ("closing transport").
SANIC_KEEP_ALIVE_TIMEOUT=75 .venv/bin/rasa run actions --actions actions --port 5055 >var/actions-test.log 2>&1 & pids+=($!)
.venv/bin/python -m xiaoan.serve run --enable-api -i 127.0.0.1 -p 5005 -m models --credentials credentials.yml --endpoints endpoints.yml >var/rasa-test.log 2>&1 & pids+=($!)
.venv/bin/python web/serve.py >var/web-test.log 2>&1 & pids+=($!)
for _ in $(seq 1 300); do
  curl -fs "$RASA_URL/status" >/dev/null && curl -fs "$WEB_URL/" >/dev/null && curl -fs http://127.0.0.1:5055/health >/dev/null && break
  sleep 1
done
curl -fs "$RASA_URL/status" >/dev/null || { echo "Rasa did not come up; see var/rasa-test.log" >&2; tail -20 var/rasa-test.log >&2; exit 1; }
"$@"
