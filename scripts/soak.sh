#!/usr/bin/env bash
# Soak: two Verity nodes (release build) on one PostgreSQL and one Redis under mixed load for
# DURATION seconds (600 by default). On each node, returning people sign in to a relying party
# (/authorize -> password -> code -> /token, the load driver of bench-login.sh at CONCURRENCY
# flows at once each), and after every code exchange the relying party calls /userinfo with
# the access token and makes a refresh_token grant. Every PHONE_EVERY seconds someone changes
# their phone number in the account console (the nodes take turns): sign-in, the step-up it
# demands (password + authenticator app), the new number, the texted code read from the dev
# outbox, review, confirm, sign-out; each of PHONE_PEOPLE people alternates between two
# numbers of their own. A paced client sends client_credentials token requests and
# discovery/JWKS reads to both nodes at RATE requests/s in all. Every SAMPLE seconds it records
# each node's RSS. At the end it prints errors (goal 0) and p50/p99 per kind, the RSS of each
# node over time, and whether RSS stayed flat (within 10% after WARMUP seconds).
#
#   bash scripts/soak.sh                       # 10 minutes
#   DURATION=120 WARMUP=30 bash scripts/soak.sh
#
# Knobs: DURATION (600), WARMUP (120: RSS is judged after it), CONCURRENCY (2 sign-in flows at
# once per node), RATE (20 paced requests/s), USERS (16: CONCURRENCY + PHONE_PEOPLE at least),
# PHONE_EVERY (5 s, whole seconds; 0: no phone changes), PHONE_PEOPLE (12; each changes every
# PHONE_PEOPLE x PHONE_EVERY s, which must be at least 30: an app code is taken once per 30 s
# step, and a person may be texted 10 codes per 5 minutes), SAMPLE (10 s), PORT (first port,
# 18280).
#
# PostgreSQL at postgres://postgres@127.0.0.1:5432 (a fresh database, dropped afterwards) and
# Redis at redis://127.0.0.1:6379 (a fresh key prefix, deleted afterwards).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/verity"
DRIVER="$TARGET_DIR/release/examples/bench_login"
DURATION="${DURATION:-600}"
WARMUP="${WARMUP:-120}"
CONCURRENCY="${CONCURRENCY:-2}"
RATE="${RATE:-20}"
USERS="${USERS:-16}"
SAMPLE="${SAMPLE:-10}"
PHONE_EVERY="${PHONE_EVERY:-5}"
PHONE_PEOPLE="${PHONE_PEOPLE:-12}"
FIRST_PORT="${PORT:-18280}"
HOST=127.0.0.1
REDIRECT_URI="http://localhost:9999/callback"
PG_ADMIN_URL="postgres://postgres@127.0.0.1:5432"
REDIS_URL="redis://127.0.0.1:6379"

unset VERITY_CONFIG VERITY_ENV VERITY_ISSUER VERITY_LISTEN VERITY_DATA_DIR VERITY_DATABASE_URL \
    VERITY_REDIS_URL VERITY_REDIS_PREFIX VERITY_MASTER_KEY || true

die() { echo "soak: FAIL: $*" >&2; exit 1; }
log() { echo "soak: $*" >&2; }

[[ "$PHONE_EVERY" =~ ^[0-9]+$ && "$PHONE_PEOPLE" =~ ^[0-9]+$ ]] \
    || die "PHONE_EVERY and PHONE_PEOPLE must be whole numbers"
((USERS >= CONCURRENCY + PHONE_PEOPLE)) || die "USERS must be at least CONCURRENCY + PHONE_PEOPLE"
if ((PHONE_EVERY > 0)); then
    ((PHONE_PEOPLE >= 2 && PHONE_PEOPLE * PHONE_EVERY >= 30)) \
        || die "PHONE_PEOPLE x PHONE_EVERY must be at least 30 s (and PHONE_PEOPLE at least 2)"
fi

TMP="$(mktemp -d /tmp/verity-soak.XXXXXX)"
R="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
DB="verity_soak_$R"
PREFIX="verity-soak-$R"
PIDS=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    timeout 30 psql "$PG_ADMIN_URL/postgres" -qAtc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" \
        >/dev/null 2>&1 || true
    timeout 30 redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null \
        | timeout 30 xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    [[ "${KEEP_TMP:-0}" == 1 ]] && log "kept $TMP" || rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "cargo build --release --bins --examples"
(cd "$ROOT" && cargo build --release --bins --examples) || die "release build failed"

free_port() { python3 "$ROOT/scripts/free-port.py" "$1"; }

timeout 30 psql "$PG_ADMIN_URL/postgres" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$DB\"" >/dev/null \
    || die "could not create database $DB"
PORT_A="$(free_port "$FIRST_PORT")"
PORT_B="$(free_port $((PORT_A + 1)))"
ISSUER="http://$HOST:$PORT_A"
MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
ENVS=(
    "VERITY_ENV=dev" "VERITY_ISSUER=$ISSUER" "VERITY_MASTER_KEY=$MASTER_KEY"
    "VERITY_DATABASE_URL=$PG_ADMIN_URL/$DB" "VERITY_REDIS_URL=$REDIS_URL" "VERITY_REDIS_PREFIX=$PREFIX"
    "VERITY_SECURITY__SIGNUPS_PER_IP_PER_HOUR=100000" "VERITY_DATA_DIR=$TMP/data"
)
mkdir -p "$TMP/data"

start_node() { # name port
    (cd "$TMP" && exec env "${ENVS[@]}" "VERITY_LISTEN=$HOST:$2" "$BIN" serve) >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$1=$!"
    for _ in $(seq 600); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$2/readyz" || true)" == 200 ]] && return 0
        sleep 0.1
    done
    tail -n 20 "$TMP/$1.log" >&2
    die "node $1 did not become ready"
}
start_node A "$PORT_A"
start_node B "$PORT_B"
log "nodes: A on $PORT_A (pid $PID_A), B on $PORT_B (pid $PID_B), database $DB"

client_add() { (cd "$TMP" && env "${ENVS[@]}" VERITY_LOG=warn "$BIN" client add "$@"); }
client_add --name soak-rp --redirect-uri "$REDIRECT_URI" --grant-type authorization_code \
    --grant-type refresh_token --scope "openid email" >"$TMP/rp.json" || die "client add failed"
client_add --name soak-service --grant-type client_credentials >"$TMP/service.json" \
    || die "client add failed"
read -r RP_ID RP_SECRET < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["client_id"], d["client_secret"])' "$TMP/rp.json")
read -r SVC_ID SVC_SECRET < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["client_id"], d["client_secret"])' "$TMP/service.json")

log "setting up $USERS people ($PHONE_PEOPLE of them with a phone)"
"$DRIVER" setup --base "$ISSUER" --client-id="$RP_ID" --client-secret="$RP_SECRET" \
    --redirect-uri "$REDIRECT_URI" --scope "openid email" --users "$USERS" \
    --phone-people "$PHONE_PEOPLE" \
    --state "$TMP/state-A.json" 2>"$TMP/setup.err" || { cat "$TMP/setup.err" >&2; die "setup failed"; }
python3 - "$TMP/state-A.json" "$TMP/state-B.json" "http://$HOST:$PORT_B" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); s["base"] = sys.argv[3]; json.dump(s, open(sys.argv[2], "w"))
EOF

# RSS sampler: "seconds node_A_kib node_B_kib" every SAMPLE seconds.
(
    start=$SECONDS
    while true; do
        a=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID_A/status" 2>/dev/null || echo 0)
        b=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID_B/status" 2>/dev/null || echo 0)
        echo "$((SECONDS - start)) $a $b"
        sleep "$SAMPLE"
    done
) >"$TMP/rss.txt" &
PIDS+=($!)

log "load for ${DURATION}s: sign-ins with userinfo and refresh on both nodes at $CONCURRENCY at once each, a phone change every ${PHONE_EVERY}s, $RATE paced requests/s"
# Each node's driver changes a phone every 2 x PHONE_EVERY, B half a period after A, each
# with its own half of the phone people.
"$DRIVER" run --state "$TMP/state-A.json" --concurrency "$CONCURRENCY" --duration "$DURATION" \
    --warmup 0 --tokens --phone-every "$((2 * PHONE_EVERY))" --phone-offset 0 --phone-share 0/2 \
    >"$TMP/signin-A.txt" 2>"$TMP/signin-A.err" &
D_A=$!
"$DRIVER" run --state "$TMP/state-B.json" --concurrency "$CONCURRENCY" --duration "$DURATION" \
    --warmup 0 --tokens --phone-every "$((2 * PHONE_EVERY))" --phone-offset "$PHONE_EVERY" \
    --phone-share 1/2 >"$TMP/signin-B.txt" 2>"$TMP/signin-B.err" &
D_B=$!
PIDS+=("$D_A" "$D_B")
python3 - "$DURATION" "$RATE" "$SVC_ID" "$SVC_SECRET" "http://$HOST:$PORT_A" "http://$HOST:$PORT_B" \
    >"$TMP/paced.txt" <<'EOF'
import base64, json, sys, time, urllib.request, urllib.error
duration, rate = float(sys.argv[1]), float(sys.argv[2])
cid, secret, nodes = sys.argv[3], sys.argv[4], sys.argv[5:]
basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
kinds = {"client_credentials": [], "discovery": [], "jwks": []}
errors = {k: 0 for k in kinds}
def call(kind, node):
    if kind == "client_credentials":
        req = urllib.request.Request(node + "/token", data=b"grant_type=client_credentials",
            headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
    elif kind == "discovery":
        req = urllib.request.Request(node + "/.well-known/openid-configuration")
    else:
        req = urllib.request.Request(node + "/jwks.json")
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            ok = r.status == 200
    except Exception:
        ok = False
    kinds[kind].append(time.monotonic() - t)
    if not ok:
        errors[kind] += 1
start = time.monotonic(); i = 0
order = ["client_credentials", "client_credentials", "discovery", "jwks"]
while time.monotonic() - start < duration:
    call(order[i % len(order)], nodes[i % len(nodes)])
    i += 1
    pause = start + i / rate - time.monotonic()
    if pause > 0:
        time.sleep(pause)
for k, v in kinds.items():
    v.sort()
    p = lambda q: v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else 0
    print(f"PACED {k} {len(v)} {errors[k]} {p(0.5):.1f} {p(0.99):.1f}")
EOF
wait "$D_A" || { cat "$TMP/signin-A.err" >&2; die "the sign-in driver on A failed"; }
wait "$D_B" || { cat "$TMP/signin-B.err" >&2; die "the sign-in driver on B failed"; }

echo
echo "Verity soak: $(cd "$ROOT" && git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; ${DURATION}s; two nodes on PostgreSQL + Redis"
printf '%-34s %8s %7s %9s %9s\n' kind requests errors "p50 ms" "p99 ms"
ERRORS=0
for n in A B; do
    read -r _ _ flows _ _ p50 p99 errs _ < <(grep '^BENCH_RESULT ' "$TMP/signin-$n.txt")
    printf '%-34s %8s %7s %9s %9s\n' "sign-in + code exchange (node $n)" "$flows" "$errs" "$p50" "$p99"
    ERRORS=$((ERRORS + errs))
    while read -r _ kind count errs p50 p99; do
        case "$kind" in
            refresh) kind="refresh_token grant" ;;
            phone_change) kind="phone change" ;;
        esac
        printf '%-34s %8s %7s %9s %9s\n' "$kind (node $n)" "$count" "$errs" "$p50" "$p99"
        ERRORS=$((ERRORS + errs))
    done < <(grep '^KIND_RESULT ' "$TMP/signin-$n.txt")
    grep -h 'error' "$TMP/signin-$n.err" | head -n 5 >&2 || true
done
while read -r _ kind count errs p50 p99; do
    printf '%-34s %8s %7s %9s %9s\n' "$kind (both nodes)" "$count" "$errs" "$p50" "$p99"
    ERRORS=$((ERRORS + errs))
done <"$TMP/paced.txt"
echo
echo "RSS (MiB) every minute:"
awk -v s="$SAMPLE" 'NR == 1 || $1 % 60 < s { printf "  %4ds  A %6.1f  B %6.1f\n", $1, $2 / 1024, $3 / 1024 }' "$TMP/rss.txt"
FLAT="$(awk -v w="$WARMUP" '$1 >= w { for (i = 2; i <= 3; i++) { if (!(i in lo) || $i < lo[i]) lo[i] = $i; if ($i > hi[i]) hi[i] = $i } }
    END { ok = 1; for (i = 2; i <= 3; i++) { r = (hi[i] - lo[i]) / lo[i]; printf "%s %.1f%% ", (i == 2 ? "A" : "B"), 100 * r; if (r > 0.10) ok = 0 }
          print (ok ? "flat" : "NOT flat") }' "$TMP/rss.txt")"
echo "RSS spread after ${WARMUP}s (max-min)/min: $FLAT (goal: within 10%)"
echo "errors: $ERRORS (goal 0)"
((ERRORS == 0)) || die "$ERRORS requests failed"
