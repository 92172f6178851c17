#!/usr/bin/env bash
# Fuzzes the management API with schemathesis: builds the release binary, starts it on a free
# port with a throwaway SQLite data dir, creates an admin client with the CLI, gets a token,
# and runs schemathesis against /admin/api/openapi.json. Fails on any 5xx or any answer that
# doesn't match the document (status, content type, schema).
#
#   scripts/api-fuzz.sh                 # build + run (CI)
#   FUZZ_BIN=target/debug/verity scripts/api-fuzz.sh   # use an existing binary
#   FUZZ_EXAMPLES=50 scripts/api-fuzz.sh          # examples per operation (default 100)
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
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$DATA"
}
trap cleanup EXIT

export VERITY_ENV=dev
export VERITY_DATA_DIR="$DATA"
export VERITY_LISTEN="127.0.0.1:$PORT"
export VERITY_ISSUER="$BASE"
# The token must outlast the run; nothing else about the instance changes.
export VERITY_SECURITY__ACCESS_TOKEN_TTL_SECS=7200
export VERITY_LOG="${VERITY_LOG:-warn}"

"$FUZZ_BIN" migrate >/dev/null
CLIENT="$("$FUZZ_BIN" client add --name "api-fuzz" --admin --grant-type client_credentials --scope verity:admin)"
CLIENT_ID="$(printf '%s' "$CLIENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
CLIENT_SECRET="$(printf '%s' "$CLIENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"

"$FUZZ_BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

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

TOKEN="$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$BASE/token" |
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
