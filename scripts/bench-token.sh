#!/usr/bin/env bash
# Benchmark of Verity's hot paths on the release build, with wrk:
#   - POST /token grant_type=client_credentials (HTTP Basic), RS256 and ES256 signing keys;
#   - GET /.well-known/openid-configuration and GET /jwks.json;
# on SQLite + the in-memory store and on PostgreSQL + Redis. Prints req/s and p50/p90/p99
# latency per (alg, backend, endpoint), and the server's RSS idle after start and after the load.
#
#   bash scripts/bench-token.sh                  # 15 s per measurement
#   DURATION=10 bash scripts/bench-token.sh
#   ALGS="ES256" BACKENDS="sqlite" bash scripts/bench-token.sh
#
# Knobs (environment): DURATION (15), WARMUP (3), THREADS (2), CONNECTIONS (32),
# ALGS ("RS256 ES256"), BACKENDS ("sqlite pg"), BENCH_SCOPE (api, the client's scope),
# PORT (first port tried, 18080), KEEP_TMP=1 (keep server logs and data dirs).
# VERITY_LOG / VERITY_WORKERS / VERITY_DB_POOL_SIZE pass through to the server.
#
# Everything runs against 127.0.0.1: the server, PostgreSQL (postgres://postgres@127.0.0.1:5432,
# a fresh database verity_bench_<random> per run, dropped afterwards) and Redis
# (redis://127.0.0.1:6379, key prefix verity-bench-<random>, deleted afterwards).
# Every step is bounded by a timeout; servers, databases and keys are cleaned up on exit.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LUA="$ROOT/scripts/bench-token.lua"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/verity"

DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
ALGS="${ALGS:-RS256 ES256}"
BACKENDS="${BACKENDS:-sqlite pg}"
BENCH_SCOPE="${BENCH_SCOPE:-api}"
FIRST_PORT="${PORT:-18080}"
HOST=127.0.0.1
PG_ADMIN_URL="postgres://postgres@127.0.0.1:5432"
REDIS_URL="redis://127.0.0.1:6379"

# Settings that would point the server somewhere else than this run intends.
unset VERITY_CONFIG VERITY_ENV VERITY_ISSUER VERITY_LISTEN VERITY_DATA_DIR VERITY_DATABASE_URL \
    VERITY_REDIS_URL VERITY_REDIS_PREFIX VERITY_SIGNING_ALG VERITY_MASTER_KEY || true

die() { echo "bench-token: FAIL: $*" >&2; exit 1; }
log() { echo "bench-token: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# cleanup

SERVER_PID=""
DBS=()
PREFIXES=()
TMPS=()

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

drop_db() {
    timeout 30 psql "$PG_ADMIN_URL/postgres" -v ON_ERROR_STOP=1 -qAtc \
        "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1 \
        || log "could not drop database $1"
}

del_prefix() {
    timeout 30 redis-cli -u "$REDIS_URL" --scan --pattern "$1:*" 2>/dev/null \
        | timeout 30 xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
}

cleanup() {
    local rc=$?
    stop_server
    local x
    for x in "${DBS[@]}"; do drop_db "$x"; done
    for x in "${PREFIXES[@]}"; do del_prefix "$x"; done
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        for x in "${TMPS[@]}"; do log "kept $x"; done
    else
        for x in "${TMPS[@]}"; do rm -rf "$x"; done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# tools

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }
need curl
need python3
if [[ " $BACKENDS " == *" pg "* ]]; then need psql; need redis-cli; fi

if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (apt-get install -y wrk)"
    SUDO=""
    [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y wrk >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; } \
        || die "could not install wrk"
fi

if [[ " $BACKENDS " == *" pg "* ]]; then
    timeout 10 psql "$PG_ADMIN_URL/postgres" -qAtc 'select 1' >/dev/null \
        || die "PostgreSQL does not answer at $PG_ADMIN_URL"
    [[ "$(timeout 10 redis-cli -u "$REDIS_URL" ping 2>/dev/null)" == PONG ]] \
        || die "Redis does not answer at $REDIS_URL"
fi

log "cargo build --release"
(cd "$ROOT" && cargo build --release) || die "release build failed"
[[ -x "$BIN" ]] || die "$BIN is missing after the build"

# ---------------------------------------------------------------------------------------------
# helpers

rand_hex() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }

free_port() { python3 "$ROOT/scripts/free-port.py" "$1"; }

# "12345 kB" -> "12.1 MiB"
proc_mem() { # pid field
    awk -v f="$2:" '$1 == f { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }

RESULTS=()   # "alg|backend|endpoint|req/s|p50|p90|p99|errors"
MEMORY=()    # "alg|backend|idle rss|rss after load|peak rss"
FAILED=0

# bench ALG BACKEND ENDPOINT METHOD PATH
bench() {
    local alg=$1 backend=$2 name=$3 method=$4 path=$5
    local url="http://$HOST:$SERVER_PORT$path"
    local out="$CASE_TMP/wrk-$name.txt"
    log "  $name: warm-up ${WARMUP}s, then ${DURATION}s ($method $path, -t$THREADS -c$CONNECTIONS)"
    BENCH_METHOD=$method timeout $((WARMUP + 30)) \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$LUA" "$url" >/dev/null \
        || die "wrk warm-up failed for $name"
    BENCH_METHOD=$method timeout $((DURATION + 60)) \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$LUA" "$url" >"$out" \
        || die "wrk failed for $name: $(cat "$out")"
    local line
    line="$(grep '^BENCH_RESULT ' "$out")" || die "no result from wrk for $name: $(cat "$out")"
    local _tag rps p50 p90 p99 total non2xx sockerr
    read -r _tag rps p50 p90 p99 total non2xx sockerr <<<"$line"
    local errors=$((non2xx + sockerr))
    if ((errors > 0)); then
        log "  $name: $non2xx non-2xx answers and $sockerr socket errors out of $total requests"
        FAILED=1
    fi
    log "  $name: $rps req/s, p50 $(us_to_ms "$p50"), p90 $(us_to_ms "$p90"), p99 $(us_to_ms "$p99")"
    RESULTS+=("$alg|$backend|$name|$rps|$(us_to_ms "$p50")|$(us_to_ms "$p90")|$(us_to_ms "$p99")|$errors")
}

# run_case ALG BACKEND
run_case() {
    local alg=$1 backend=$2
    CASE_TMP="$(mktemp -d /tmp/verity-bench.XXXXXX)"
    TMPS+=("$CASE_TMP")
    SERVER_PORT="$(free_port "$FIRST_PORT")"
    local issuer="http://$HOST:$SERVER_PORT"
    local envs=(
        "VERITY_ENV=dev"
        "VERITY_ISSUER=$issuer"
        "VERITY_LISTEN=$HOST:$SERVER_PORT"
        "VERITY_DATA_DIR=$CASE_TMP/data"
        "VERITY_SIGNING_ALG=$alg"
    )
    local label
    case "$backend" in
        sqlite) label="sqlite+memory" ;;
        pg)
            label="postgres+redis"
            local r db prefix
            r="$(rand_hex)"
            db="verity_bench_$r"
            prefix="verity-bench-$r"
            timeout 30 psql "$PG_ADMIN_URL/postgres" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$db\"" >/dev/null \
                || die "could not create database $db"
            DBS+=("$db")
            PREFIXES+=("$prefix")
            envs+=("VERITY_DATABASE_URL=$PG_ADMIN_URL/$db" "VERITY_REDIS_URL=$REDIS_URL"
                "VERITY_REDIS_PREFIX=$prefix")
            ;;
        *) die "unknown backend $backend (sqlite or pg)" ;;
    esac
    mkdir -p "$CASE_TMP/data"
    log "$alg on $label: starting verity on $issuer (logs: $CASE_TMP/server.log)"

    # cd into the temp dir so no verity.toml from the checkout is picked up.
    (cd "$CASE_TMP" && exec env "${envs[@]}" "$BIN" serve) >"$CASE_TMP/server.log" 2>&1 &
    SERVER_PID=$!

    local ok=0
    for _ in $(seq 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$issuer/readyz" || true)" == 200 ]]; then
            ok=1
            break
        fi
        sleep 0.1
    done
    if ((ok == 0)); then
        tail -n 30 "$CASE_TMP/server.log" >&2 || true
        die "verity did not become ready on $issuer within 60 s"
    fi
    sleep 1
    local idle_rss
    idle_rss="$(proc_mem "$SERVER_PID" VmRSS)"
    log "  idle RSS after start: $idle_rss"

    # Register the benchmark client with the CLI against the same database.
    if ! (cd "$CASE_TMP" && env "${envs[@]}" VERITY_LOG=warn timeout 60 "$BIN" client add \
        --name bench --redirect-uri http://localhost/cb \
        --grant-type client_credentials --scope "$BENCH_SCOPE") >"$CASE_TMP/client.json" 2>"$CASE_TMP/client.err"; then
        cat "$CASE_TMP/client.err" "$CASE_TMP/client.json" >&2
        die "verity client add failed (try BENCH_SCOPE=... ; see verity client add --help)"
    fi
    local basic
    basic="$(python3 - "$CASE_TMP/client.json" <<'EOF'
import base64, json, sys, urllib.parse
d = json.load(open(sys.argv[1]))
cid, secret = d["client_id"], d.get("client_secret")
if not secret:
    sys.exit("client add printed no client_secret: %r" % d)
q = lambda s: urllib.parse.quote(s, safe="")
print(base64.b64encode((q(cid) + ":" + q(secret)).encode()).decode())
EOF
)" || die "could not read client_id/client_secret from: $(cat "$CASE_TMP/client.json")"
    export BENCH_BASIC="$basic"

    # One token by hand: must be HTTP 200 with an access_token signed with $alg.
    local code
    code="$(curl -s -o "$CASE_TMP/token.json" -w '%{http_code}' --max-time 10 \
        -H "Authorization: Basic $basic" -d grant_type=client_credentials "$issuer/token" || true)"
    [[ "$code" == 200 ]] || die "sample token request answered HTTP $code: $(cat "$CASE_TMP/token.json" 2>/dev/null)"
    python3 - "$CASE_TMP/token.json" "$alg" <<'EOF' || die "sample token response is not usable: $(cat "$CASE_TMP/token.json")"
import base64, json, sys
d = json.load(open(sys.argv[1]))
tok = d.get("access_token")
if not tok:
    sys.exit("no access_token in %r" % d)
part = tok.split(".")[0]
hdr = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
if hdr.get("alg") != sys.argv[2]:
    sys.exit("access token signed with %r, expected %r" % (hdr.get("alg"), sys.argv[2]))
print("bench-token:   sample token OK: header %s, token_type %s, expires_in %s, scope %s"
      % (json.dumps(hdr), d.get("token_type"), d.get("expires_in"), d.get("scope")), file=sys.stderr)
EOF
    for p in /.well-known/openid-configuration /jwks.json; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$issuer$p" || true)"
        [[ "$code" == 200 ]] || die "GET $p answered HTTP $code"
    done

    bench "$alg" "$label" token POST /token
    bench "$alg" "$label" discovery GET /.well-known/openid-configuration
    bench "$alg" "$label" jwks GET /jwks.json

    MEMORY+=("$alg|$label|$idle_rss|$(proc_mem "$SERVER_PID" VmRSS)|$(proc_mem "$SERVER_PID" VmHWM)")
    stop_server
}

# ---------------------------------------------------------------------------------------------
# run

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
    for alg in $ALGS; do
        run_case "$alg" "$backend"
    done
done

echo
echo "Verity $("$BIN" --version 2>/dev/null | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ', with local changes')), release build"
echo "$START_DATE; $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency after ${WARMUP}s warm-up; wrk and verity share the machine"
echo "load average at start: $START_LOAD; at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo
printf '%-6s  %-15s  %-9s  %10s  %9s  %9s  %9s  %6s\n' alg backend endpoint req/s p50 p90 p99 errors
printf '%-6s  %-15s  %-9s  %10s  %9s  %9s  %9s  %6s\n' ------ --------------- --------- ---------- --------- --------- --------- ------
for row in "${RESULTS[@]}"; do
    IFS='|' read -r a b e rps p50 p90 p99 err <<<"$row"
    printf '%-6s  %-15s  %-9s  %10.0f  %9s  %9s  %9s  %6s\n' "$a" "$b" "$e" "$rps" "$p50" "$p90" "$p99" "$err"
done
echo
printf '%-6s  %-15s  %14s  %14s  %14s\n' alg backend "idle RSS" "RSS after load" "peak RSS"
printf '%-6s  %-15s  %14s  %14s  %14s\n' ------ --------------- -------------- -------------- --------------
for row in "${MEMORY[@]}"; do
    IFS='|' read -r a b idle after peak <<<"$row"
    printf '%-6s  %-15s  %14s  %14s  %14s\n' "$a" "$b" "$idle" "$after" "$peak"
done

((FAILED == 0)) || die "some requests failed (errors column above)"
