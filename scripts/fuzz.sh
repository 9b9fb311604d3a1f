#!/bin/sh
# Fuzzes the API from its own OpenAPI document with schemathesis (docs/testing.md "Fuzzing the API").
# Starts the embedded stack (npm start's launcher) on free ports in a throw-away data folder, runs
# schemathesis against GET /api/v1/openapi.json with an admin token, then stops the stack.
# Checks: no 5xx, every status and content type as documented (4xx: application/problem+json),
# bodies conform to their schemas (server-sent events: each event). FUZZ_MAX_EXAMPLES (default 200) bounds the
# cases per operation; every phase runs, stateful included (it follows the OpenAPI links from each create to the
# operations on what it created); FUZZ_PHASES picks others; extra arguments go to `schemathesis run`.
set -e
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${FUZZ_VENV:-$ROOT/.venv-fuzz}
SCHEMATHESIS_VERSION=4.32.5
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "[fuzz] installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  PY=$(command -v python3.11 || command -v python3)
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
sh scripts/setup.sh
node dist/test/support/ensure-temporal.js

DATA=$(mktemp -d "${TMPDIR:-/tmp}/ihub-fuzz-XXXXXX")
chmod 755 "$DATA" # as root, PostgreSQL runs as postgres, which must enter its data folder to keep it here
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
PORT=$(free_port)
TOKEN="fuzz-admin-token-$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")"
DATA_DIR="$DATA" PORT=$PORT EMBEDDED_PG_PORT=$(free_port) TEMPORAL_DEV_PORT=$(free_port) TEMPORAL_UI_PORT=$(free_port) \
  ADMIN_TOKEN=$TOKEN LOG_LEVEL=warn node dist/src/main/dev.js > "$DATA/stack.log" 2>&1 &
STACK=$!
stop_stack() {
  kill -TERM "$STACK" 2>/dev/null && wait "$STACK" 2>/dev/null || true
  rm -rf "$DATA"
}
trap stop_stack EXIT INT TERM

i=0
until curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 240 ] || ! kill -0 "$STACK" 2>/dev/null; then
    echo "[fuzz] the stack did not become ready; its output:"; cat "$DATA/stack.log"; exit 1
  fi
  sleep 0.5
done
echo "[fuzz] stack ready on :$PORT; seeding a subscription, a connection and a delivery"

# operations on one resource need an id that exists, or every case ends in 404: seed one of each
# (hosts under .invalid: a literal 127.0.0.1 is refused at save without OUTBOUND_ALLOWED_NETWORKS)
api() { curl -sS -X "$1" "http://127.0.0.1:$PORT/api/v1$2" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$3"; }
field() { node -e "const b=JSON.parse(require('fs').readFileSync(0,'utf8')); const v=($1); if(!v){console.error(JSON.stringify(b));process.exit(1)} console.log(v)"; }
SUB=$(api POST /subscriptions '{"name":"fuzz","provider":"webhook","event":"incident.created","config":{"url":"https://receiver.invalid/hook","auth":{"type":"bearer","token":"fuzz-token-0123456789"}}}' | field b.id)
CON=$(api POST /connections '{"provider":"slack","name":"fuzz","config":{"botToken":"xoxb-fuzz-0123456789","apiBaseUrl":"https://slack.invalid/api"}}' | field b.id)
DLV=$(api POST /ingest '{"event":"incident.created","payload":{"incidentId":"fuzz-1","title":"fuzz","severity":"major","systemIds":["fuzz"]}}' | field b.deliveries[0].id)
cat > "$DATA/schemathesis.toml" <<TOML
[[operations]]
include-path = ["/subscriptions/{id}", "/subscriptions/{id}/test"]
parameters = { "path.id" = "$SUB" }

[[operations]]
include-path = ["/connections/{id}", "/connections/{id}/test", "/connections/{id}/options/{resolver}"]
parameters = { "path.id" = "$CON" }

[[operations]]
include-path = ["/deliveries/{id}", "/deliveries/{id}/retry", "/deliveries/{id}/cancel"]
parameters = { "path.id" = "$DLV" }
TOML
echo "[fuzz] running schemathesis"

status=0
"$VENV/bin/schemathesis" --no-color --config-file "$DATA/schemathesis.toml" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --url "http://127.0.0.1:$PORT/api/v1" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${FUZZ_MAX_EXAMPLES:-200}" \
  --phases "${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}" \
  --seed "${FUZZ_SEED:-1}" \
  --generation-database none \
  --workers "${FUZZ_WORKERS:-2}" \
  "$@" || status=$?
if grep -q "unexpected error in request" "$DATA/stack.log"; then
  echo "[fuzz] the API logged unexpected errors:"; grep "unexpected error in request" "$DATA/stack.log" | head -20
  status=1
fi
exit $status
