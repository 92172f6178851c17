#!/usr/bin/env bash
# Browser walks through Verity (README "Browser tests"): starts the release binary on a free port
# with SQLite in a throwaway directory and dev mode (the dev outbox at /dev/outbox), registers a
# confidential client whose redirect URI is served by the test itself, runs the walks in
# headless Chromium (walks.test.js: sign-up to a lost phone; verify.test.js: identity
# verification, and verify by mail with the management API; keys.test.js: a passkey with Chromium's virtual authenticator), and always stops
# the server.
#
# The issuer is http://localhost:<port>, not 127.0.0.1: WebAuthn needs a host name (at an IP
# address Verity offers no keys). The server listens on 127.0.0.1 only; Chromium, which may try
# ::1 first for localhost, falls back to 127.0.0.1 when ::1 refuses, and the port is chosen free
# on both so nothing else answers at [::1]:<port>.
#
#   tests/e2e/run.sh                           # builds the release binary first (cargo build --release)
#   E2E_BIN=target/release/verity tests/e2e/run.sh   # use an existing binary
#   E2E_LANG=es tests/e2e/run.sh               # the walks in another language (strings.js)
#   E2E_PAGE_SHOTS=dir tests/e2e/run.sh        # also save every /verify page and every page
#                                              # showing keys at 1280 and 390 px
#   E2E_WALKS=keys tests/e2e/run.sh            # only tests/e2e/keys.test.js (names, space-separated)
#
# Needs Node 20 and Chromium at /usr/bin/chromium (Debian's `chromium`; E2E_CHROMIUM names
# another). Installs tests/e2e/node_modules from the lock file when it is missing.
# Screenshots of failing pages go to a temporary directory whose path is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

if [ -z "${E2E_BIN:-}" ]; then
    cargo build --release --quiet
    E2E_BIN="${CARGO_TARGET_DIR:-target}/release/verity"
fi
E2E_BIN="$(realpath "$E2E_BIN")"
E2E_CHROMIUM="${E2E_CHROMIUM:-/usr/bin/chromium}"
[ -x "$E2E_CHROMIUM" ] || { echo "e2e: no Chromium at $E2E_CHROMIUM (apt-get install chromium)"; exit 1; }
if [ ! -d tests/e2e/node_modules ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# A port free on 127.0.0.1 and (where the machine has IPv6) on ::1 too.
free_port() {
    python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    try:
        s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", port)); s6.close()
    except OSError as e:
        if e.errno == 98: s.close(); continue  # in use on ::1
    s.close(); print(port); break
'
}
DATA="$(mktemp -d)"
ARTIFACTS="$(mktemp -d -t verity-e2e-XXXXXX)"
PORT="$(free_port)"
CALLBACK_PORT="$(free_port)"
while [ "$CALLBACK_PORT" = "$PORT" ]; do CALLBACK_PORT="$(free_port)"; done
BASE="http://localhost:$PORT"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$DATA"
    # Keep the screenshots only when there are some.
    rmdir "$ARTIFACTS" 2>/dev/null || true
}
trap cleanup EXIT

# Only what this script chooses: no VERITY_* setting from the caller's environment, and no
# verity.toml (the server and CLI run in the throwaway directory).
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^VERITY_' || true)
export VERITY_ENV=dev
export VERITY_DATA_DIR="$DATA"
export VERITY_LISTEN="127.0.0.1:$PORT"
export VERITY_ISSUER="$BASE"
export VERITY_LOG=warn

CLIENT="$(cd "$DATA" && "$E2E_BIN" migrate >/dev/null &&
    "$E2E_BIN" client add --name "E2E Portal" --redirect-uri "http://127.0.0.1:$CALLBACK_PORT/callback")"
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
E2E_CLIENT_ID="$(printf '%s' "$CLIENT" | json_field client_id)"
E2E_CLIENT_SECRET="$(printf '%s' "$CLIENT" | json_field client_secret)"
# An operator's client for the management API (verify by mail: the print file, "sent").
ADMIN="$(cd "$DATA" && "$E2E_BIN" client add --name "E2E Operator" --grant-type client_credentials \
    --admin --scope "verity:admin:proofing verity:admin:proofing:pii verity:admin:referee verity:admin:users:read")"
E2E_ADMIN_ID="$(printf '%s' "$ADMIN" | json_field client_id)"
E2E_ADMIN_SECRET="$(printf '%s' "$ADMIN" | json_field client_secret)"

(cd "$DATA" && exec "$E2E_BIN" serve) >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
healthy=""
deadline=$((SECONDS + ${E2E_HEALTH_WAIT_SECS:-30}))
while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 2 "$BASE/healthz" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$healthy" ]; then
    echo "e2e: the server did not answer $BASE/healthz; its log:"
    tail -n 50 "$DATA/server.log" | sed 's/^/    /'
    exit 1
fi

# E2E_WALKS="keys verify" runs only those files (tests/e2e/<name>.test.js); all by default.
files=()
for name in ${E2E_WALKS:-totp walks verify keys}; do files+=("tests/e2e/$name.test.js"); done

status=0
VERITY_BASE="$BASE" E2E_CLIENT_ID="$E2E_CLIENT_ID" E2E_CLIENT_SECRET="$E2E_CLIENT_SECRET" \
    E2E_ADMIN_ID="$E2E_ADMIN_ID" E2E_ADMIN_SECRET="$E2E_ADMIN_SECRET" \
    E2E_CALLBACK_PORT="$CALLBACK_PORT" E2E_ARTIFACTS="$ARTIFACTS" E2E_CHROMIUM="$E2E_CHROMIUM" \
    node --test --test-reporter=spec --test-concurrency=1 "${files[@]}" ||
    status=$?

if grep -E 'internal error|panicked' "$DATA/server.log" >/dev/null; then
    echo "e2e: the server logged errors:"
    grep -E 'internal error|panicked' "$DATA/server.log" | tail -20 | sed 's/^/    /'
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "e2e: failed; server log (last lines):"
    tail -n 20 "$DATA/server.log" | sed 's/^/    /'
fi
if [ -n "$(ls -A "$ARTIFACTS" 2>/dev/null)" ]; then echo "e2e: screenshots in $ARTIFACTS"; fi
echo "e2e: $((SECONDS - started)) s"
exit $status
