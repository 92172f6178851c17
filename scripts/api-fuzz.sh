#!/usr/bin/env bash
# Fuzzes the management API with schemathesis: builds the release binary, starts it on a free
# port with a throwaway data dir, creates an admin client with the CLI, gets a token, and runs
# schemathesis against /admin/api/openapi.json. Fails on any 5xx or any answer that doesn't
# match the document (status, content type, schema), and when the server doesn't start.
#
#   scripts/api-fuzz.sh                 # build + run on SQLite + the in-memory store (CI)
#   FUZZ_PG_URL=postgres://postgres@127.0.0.1:5432/postgres FUZZ_REDIS_URL=redis://127.0.0.1:6379 \
#       scripts/api-fuzz.sh             # on PostgreSQL + Redis (CI's second run)
#   FUZZ_BIN=target/debug/verity scripts/api-fuzz.sh   # use an existing binary
#   FUZZ_EXAMPLES=50 scripts/api-fuzz.sh          # examples per operation (default 100)
#
# With FUZZ_PG_URL (a database URL the script may CREATE DATABASE with) the run gets its own
# database, verity_fuzz_<random>, dropped at the end; with FUZZ_REDIS_URL its own key prefix,
# verity-fuzz-<random>, whose keys are deleted at the end. Nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${HOME:-/tmp}/.cache/verity-ci-venv"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "api-fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${FUZZ_BIN:-}" ]; then
    cargo build --release --quiet
    FUZZ_BIN="${CARGO_TARGET_DIR:-target}/release/verity"
fi

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
RUN_ID="$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
SERVER_PID=""
FUZZ_DB=""
FUZZ_PREFIX=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$FUZZ_DB" ]; then
        psql "$FUZZ_PG_URL" -qc "DROP DATABASE IF EXISTS \"$FUZZ_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
            echo "api-fuzz: could not drop the database $FUZZ_DB"
    fi
    if [ -n "$FUZZ_PREFIX" ]; then
        { redis-cli -u "$FUZZ_REDIS_URL" --scan --pattern "$FUZZ_PREFIX:*" |
            xargs -r -n 500 redis-cli -u "$FUZZ_REDIS_URL" del >/dev/null; } 2>/dev/null ||
            echo "api-fuzz: could not delete the Redis keys $FUZZ_PREFIX:*"
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

# Only what this script chooses: nothing in the caller's environment may point the run at
# another database, store or configuration file.
unset VERITY_DATABASE_URL VERITY_REDIS_URL VERITY_REDIS_PREFIX VERITY_CONFIG VERITY_MASTER_KEY
BACKEND="SQLite"
if [ -n "${FUZZ_PG_URL:-}" ]; then
    # A database of our own on that server: the same URL with another database name.
    FUZZ_DB="verity_fuzz_$RUN_ID"
    psql "$FUZZ_PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$FUZZ_DB\"" >/dev/null
    VERITY_DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$FUZZ_PG_URL" "$FUZZ_DB")"
    export VERITY_DATABASE_URL
    BACKEND="PostgreSQL ($FUZZ_DB)"
fi
if [ -n "${FUZZ_REDIS_URL:-}" ]; then
    FUZZ_PREFIX="verity-fuzz-$RUN_ID"
    export VERITY_REDIS_URL="$FUZZ_REDIS_URL"
    export VERITY_REDIS_PREFIX="$FUZZ_PREFIX"
    BACKEND="$BACKEND + Redis ($FUZZ_PREFIX)"
else
    BACKEND="$BACKEND + the in-memory store"
fi
echo "api-fuzz: on $BACKEND"

export VERITY_ENV=dev
export VERITY_DATA_DIR="$DATA"
export VERITY_LISTEN="127.0.0.1:$PORT"
export VERITY_ISSUER="$BASE"
# The token must outlast the run; nothing else about the instance changes.
export VERITY_SECURITY__ACCESS_TOKEN_TTL_SECS=7200
export VERITY_LOG="${VERITY_LOG:-warn}"

"$FUZZ_BIN" migrate >/dev/null
CLIENT="$("$FUZZ_BIN" client add --name "api-fuzz" --admin --grant-type client_credentials --scope "verity:admin verity:admin:proofing:pii verity:admin:referee")"
CLIENT_ID="$(printf '%s' "$CLIENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
CLIENT_SECRET="$(printf '%s' "$CLIENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"

"$FUZZ_BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
HEALTH_WAIT_SECS="${FUZZ_HEALTH_WAIT_SECS:-30}"
healthy=""
deadline=$((SECONDS + HEALTH_WAIT_SECS))
while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 2 "$BASE/healthz" >/dev/null 2>&1; then healthy=1; break; fi
    # A server that exited will never answer: stop waiting at once.
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$healthy" ]; then
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "api-fuzz: the server did not answer $BASE/healthz within ${HEALTH_WAIT_SECS}s"
    else
        wait "$SERVER_PID" 2>/dev/null && code=0 || code=$?
        SERVER_PID=""
        echo "api-fuzz: the server exited (status $code) before answering $BASE/healthz"
    fi
    echo "api-fuzz: server log:"
    tail -n 50 "$DATA/server.log" | sed 's/^/    /'
    exit 1
fi

# A few accounts, signed up as people do, so the user endpoints have something to act on.
python3 - "$BASE" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
base = sys.argv[1]
for i in range(3):
    jar = http.cookiejar.CookieJar()
    web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = web.open(f"{base}/signup").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    # (Unconfirmed accounts: the password is chosen after the emailed link is opened.)
    form = {"csrf": csrf, "email": f"fuzz{i}@example.com", "terms": "accepted", "authz": ""}
    web.open(f"{base}/signup", urllib.parse.urlencode(form).encode()).read()
    # And a support ticket each, so the ticket endpoints have something to act on too.
    page = web.open(f"{base}/support").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = {"csrf": csrf, "category": "other", "contact_email": f"fuzz{i}@example.com",
            "message": "Seeded by api-fuzz."}
    web.open(f"{base}/support", urllib.parse.urlencode(form).encode()).read()
PY

# The areas that show personal data need their scopes named on the token: ask for them, so
# the letters' print list and the referee area are fuzzed past their 403.
TOKEN="$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    --data-urlencode "scope=verity:admin verity:admin:proofing:pii verity:admin:referee" "$BASE/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

status=0
# From the throwaway dir: schemathesis keeps a cache (.schemathesis/) in the working directory.
(cd "$DATA" && "$VENV/bin/schemathesis" run "$BASE/admin/api/openapi.json" \
    --url "$BASE" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,ignored_auth \
    --max-examples "${FUZZ_EXAMPLES:-100}" \
    --seed "${FUZZ_SEED:-1}" \
    --no-color) || status=$?

# A 5xx is caught above; this catches failures hidden behind another answer. (actix's own
# "request parse error" lines for malformed headers are the client's fault, not ours.)
if grep -E 'internal error|panicked' "$DATA/server.log" >/dev/null; then
    echo "api-fuzz: the server logged errors:"
    grep -E 'internal error|panicked' "$DATA/server.log" | tail -20
    status=1
fi
exit $status
