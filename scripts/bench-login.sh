#!/usr/bin/env bash
# Sign-in benchmark on the release build: returning people who ticked "remember this browser"
# and already consented sign in to a relying party, /authorize -> password -> code -> /token,
# with 16 and then 64 at once; on SQLite + the in-memory store and on PostgreSQL + Redis.
# Prints flows/s, p50/p99 latency and errors per concurrency, the server's peak RSS (VmHWM)
# during each load and its RSS after it, and, measured in the same run before and after each
# load, the Argon2id bound: hashes/s of the server's parameters (m=19456, t=2, p=1) on every core.
# A sign-in checks one password, so flows/s / bound says how close sign-in gets to the hashing
# ceiling. Goals: >= 0.8 of the bound, 0 errors, peak RSS < 120 MB; the last line says which
# were met. The script fails only when a sign-in failed.
#
#   bash scripts/bench-login.sh                   # 20 s per measurement
#   DURATION=10 bash scripts/bench-login.sh
#   BACKENDS="sqlite" CONCURRENCY="64" bash scripts/bench-login.sh
#   BACKENDS=pg SEED_USERS=1000000 bash scripts/bench-login.sh   # among a million accounts
#
# Knobs (environment): DURATION (20), WARMUP (3), CONCURRENCY ("16 64"), USERS (the largest
# concurrency; at least that), ARGON2_SECONDS (5), BACKENDS ("sqlite pg"),
# BENCH_SCOPE ("openid email", what the relying party asks for), PORT (first port tried, 18180),
# KEEP_TMP=1 (keep server logs and data dirs), SEED_USERS (0: other accounts to create first with
# `verity dev seed`, so sign-in runs against a database of that size; on PostgreSQL the tables
# are ANALYZEd after).
# VERITY_LOG / VERITY_WORKERS / VERITY_DB_POOL_SIZE pass through to the server.
#
# The load driver is examples/bench_login.rs (one thread, cookies kept per person by hand);
# the bound is examples/argon2_bound.rs. Both are built with the server by
# `cargo build --release --bins --examples` (CARGO_TARGET_DIR is honoured).
#
# Everything runs against 127.0.0.1: the server, PostgreSQL (postgres://postgres@127.0.0.1:5432,
# a fresh database verity_bench_<random> per run, dropped afterwards) and Redis
# (redis://127.0.0.1:6379, key prefix verity-bench-<random>, deleted afterwards).
# Every step is bounded by a timeout; servers, databases and keys are cleaned up on exit.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/verity"
DRIVER="$TARGET_DIR/release/examples/bench_login"
BOUND="$TARGET_DIR/release/examples/argon2_bound"

DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONCURRENCY="${CONCURRENCY:-16 64}"
ARGON2_SECONDS="${ARGON2_SECONDS:-5}"
BACKENDS="${BACKENDS:-sqlite pg}"
BENCH_SCOPE="${BENCH_SCOPE:-openid email}"
FIRST_PORT="${PORT:-18180}"
HOST=127.0.0.1
REDIRECT_URI="http://localhost:9999/callback" # nothing listens there: the driver reads Location
PG_ADMIN_URL="postgres://postgres@127.0.0.1:5432"
REDIS_URL="redis://127.0.0.1:6379"

MAX_C=0
for c in $CONCURRENCY; do
    [[ "$c" =~ ^[1-9][0-9]*$ ]] || { echo "bench-login: FAIL: CONCURRENCY must be numbers: $CONCURRENCY" >&2; exit 1; }
    ((c > MAX_C)) && MAX_C=$c
done
USERS="${USERS:-$MAX_C}"
((USERS >= MAX_C)) || USERS=$MAX_C

# Settings that would point the server somewhere else than this run intends.
unset VERITY_CONFIG VERITY_ENV VERITY_ISSUER VERITY_LISTEN VERITY_DATA_DIR VERITY_DATABASE_URL \
    VERITY_REDIS_URL VERITY_REDIS_PREFIX VERITY_SIGNING_ALG VERITY_MASTER_KEY || true

die() { echo "bench-login: FAIL: $*" >&2; exit 1; }
log() { echo "bench-login: $*" >&2; }

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

if [[ " $BACKENDS " == *" pg "* ]]; then
    timeout 10 psql "$PG_ADMIN_URL/postgres" -qAtc 'select 1' >/dev/null \
        || die "PostgreSQL does not answer at $PG_ADMIN_URL"
    [[ "$(timeout 10 redis-cli -u "$REDIS_URL" ping 2>/dev/null)" == PONG ]] \
        || die "Redis does not answer at $REDIS_URL"
fi

log "cargo build --release --bins --examples"
(cd "$ROOT" && cargo build --release --bins --examples) || die "release build failed"
for b in "$BIN" "$DRIVER" "$BOUND"; do [[ -x "$b" ]] || die "$b is missing after the build"; done

# ---------------------------------------------------------------------------------------------
# helpers

rand_hex() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }

free_port() { python3 "$ROOT/scripts/free-port.py" "$1"; }

# "12345 kB" -> "12.1 MiB"
proc_mem() { # pid field
    awk -v f="$2:" '$1 == f { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# Resets the server's VmHWM to its current RSS (Linux >= 4.0), so the next reading is the peak
# of the load that follows rather than of start-up or setup. Returns 1 if the kernel refused.
reset_peak() { { echo 5 >"/proc/$1/clear_refs"; } 2>/dev/null; }

RESULTS=()   # "backend|users|flows/s|p50|p99|errors|bound|ratio|peak|after|driver cpu"
MEMORY=()    # "backend|idle rss|rss after setup|peak since start"
GOALS=()     # "backend at C: met" or what was missed
BOUND_RATE=0
BOUND_DESC=""
FAILED=0
PEAK_NOTE=""

# Sets BOUND_RATE (hashes/s) and BOUND_DESC.
measure_bound() {
    log "  Argon2id bound: $(nproc) threads for ${ARGON2_SECONDS}s"
    local line
    line="$(timeout $((ARGON2_SECONDS * 3 + 60)) "$BOUND" --seconds "$ARGON2_SECONDS" | grep '^ARGON2_BOUND ')" \
        || die "the Argon2 bound failed"
    local _tag threads m t p
    read -r _tag BOUND_RATE threads m t p _ <<<"$line"
    BOUND_DESC="m=$m t=$t p=$p, $threads threads"
    log "  Argon2id bound: $BOUND_RATE hashes/s ($BOUND_DESC)"
}

# measure CONCURRENCY: one load; sets M_* for record.
measure() {
    local c=$1
    local out="$CASE_TMP/driver-$c.txt" err="$CASE_TMP/driver-$c.err"
    M_PEAK_SCOPE="load"
    if ! reset_peak "$SERVER_PID"; then
        M_PEAK_SCOPE="since start"
        PEAK_NOTE=" (the kernel refused to reset VmHWM: peak RSS is since the server started)"
    fi
    log "  $c at once: warm-up ${WARMUP}s, then ${DURATION}s"
    if ! timeout $((WARMUP + DURATION + 120)) "$DRIVER" run --state "$CASE_TMP/state.json" \
        --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" >"$out" 2>"$err"; then
        cat "$err" >&2
        die "the driver failed at concurrency $c"
    fi
    cat "$err" >&2
    M_PEAK="$(proc_mem "$SERVER_PID" VmHWM)"
    M_PEAK_KB="$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)"
    sleep 2
    M_AFTER="$(proc_mem "$SERVER_PID" VmRSS)"
    local line
    line="$(grep '^BENCH_RESULT ' "$out")" || die "no result from the driver: $(cat "$out")"
    local _tag _conc
    read -r _tag _conc M_FLOWS M_SECS M_RPS M_P50 M_P99 M_ERRORS M_CPU <<<"$line"
    if ((M_ERRORS > 0)); then
        log "  $c at once: $M_ERRORS flows failed (see above)"
        FAILED=1
    fi
}

# record BACKEND_LABEL CONCURRENCY BOUND_BEFORE BOUND_AFTER: the last load's row and goals.
record() {
    local label=$1 c=$2
    local bound ratio cpu_share
    bound="$(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.1f", (a + b) / 2 }')"
    ratio="$(awk -v a="$M_RPS" -v b="$bound" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')"
    cpu_share="$(awk -v c="$M_CPU" -v s="$M_SECS" 'BEGIN { if (s > 0) printf "%.0f%%", 100 * c / s; else print "?" }')"
    log "  $c at once: $M_FLOWS flows in ${M_SECS}s = $M_RPS flows/s, p50 $M_P50 ms, p99 $M_P99 ms," \
        "$M_ERRORS errors; $ratio of the Argon2 bound ($3 before, $4 after); peak RSS ($M_PEAK_SCOPE)" \
        "$M_PEAK, after $M_AFTER; driver CPU $cpu_share of one core"
    RESULTS+=("$label|$c|$M_RPS|$M_P50 ms|$M_P99 ms|$M_ERRORS|$bound|$ratio|$M_PEAK|$M_AFTER|$cpu_share")
    local missed=()
    awk -v r="$ratio" 'BEGIN { exit !(r + 0 >= 0.8) }' || missed+=("ratio $ratio < 0.8")
    ((M_ERRORS == 0)) || missed+=("$M_ERRORS errors")
    # 120 MB = 120e6 bytes = 117187.5 KiB.
    ((M_PEAK_KB > 0 && M_PEAK_KB * 1024 < 120000000)) || missed+=("peak RSS $M_PEAK >= 120 MB")
    if ((${#missed[@]} == 0)); then
        GOALS+=("$label at $c: met")
    else
        GOALS+=("$label at $c: NOT met ($(IFS=';'; echo "${missed[*]}" | sed 's/;/, /g'))")
    fi
}

# run_case BACKEND
run_case() {
    local backend=$1
    CASE_TMP="$(mktemp -d /tmp/verity-bench-login.XXXXXX)"
    TMPS+=("$CASE_TMP")
    SERVER_PORT="$(free_port "$FIRST_PORT")"
    local issuer="http://$HOST:$SERVER_PORT"
    local envs=(
        "VERITY_ENV=dev"
        "VERITY_ISSUER=$issuer"
        "VERITY_LISTEN=$HOST:$SERVER_PORT"
        "VERITY_DATA_DIR=$CASE_TMP/data"
        # Every bench person signs up from 127.0.0.1.
        "VERITY_SECURITY__SIGNUPS_PER_IP_PER_HOUR=100000"
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
    log "$label: starting verity on $issuer (logs: $CASE_TMP/server.log)"

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

    # Register the relying party with the CLI against the same database: a confidential
    # client (client_secret_basic) for the authorization code grant; the driver adds PKCE.
    if ! (cd "$CASE_TMP" && env "${envs[@]}" VERITY_LOG=warn timeout 60 "$BIN" client add \
        --name bench-login --redirect-uri "$REDIRECT_URI" \
        --grant-type authorization_code --scope "$BENCH_SCOPE") >"$CASE_TMP/client.json" 2>"$CASE_TMP/client.err"; then
        cat "$CASE_TMP/client.err" "$CASE_TMP/client.json" >&2
        die "verity client add failed (see verity client add --help)"
    fi
    local client_id client_secret
    read -r client_id client_secret < <(python3 - "$CASE_TMP/client.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if not d.get("client_id") or not d.get("client_secret"):
    sys.exit("client add printed no client_id/client_secret: %r" % d)
print(d["client_id"], d["client_secret"])
EOF
) || die "could not read client_id/client_secret from: $(cat "$CASE_TMP/client.json")"
    [[ -n "${client_secret:-}" ]] || die "no client secret in $(cat "$CASE_TMP/client.json")"

    if ((${SEED_USERS:-0} > 0)); then
        log "  seeding $SEED_USERS accounts (verity dev seed)"
        (cd "$CASE_TMP" && env "${envs[@]}" VERITY_LOG=warn timeout 3600 "$BIN" dev seed \
            --users "$SEED_USERS") >"$CASE_TMP/seed.json" 2>"$CASE_TMP/seed.err" \
            || { cat "$CASE_TMP/seed.err" >&2; die "verity dev seed failed"; }
        log "  seeded: $(tr -d '\n' <"$CASE_TMP/seed.json")"
        if [[ "$backend" == pg ]]; then
            timeout 600 psql "$PG_ADMIN_URL/$db" -qAtc 'ANALYZE' >/dev/null || die "ANALYZE failed"
        fi
    fi
    log "  setting up $USERS people (sign-up, confirmation, backup codes, remembered browser, consent)"
    if ! timeout $((120 + USERS * 10)) "$DRIVER" setup --base "$issuer" --client-id="$client_id" \
        --client-secret="$client_secret" --redirect-uri "$REDIRECT_URI" --scope "$BENCH_SCOPE" \
        --users "$USERS" --state "$CASE_TMP/state.json" 2>"$CASE_TMP/setup.err"; then
        cat "$CASE_TMP/setup.err" >&2
        tail -n 20 "$CASE_TMP/server.log" >&2 || true
        die "setup failed"
    fi
    cat "$CASE_TMP/setup.err" >&2
    sleep 1
    local setup_rss
    setup_rss="$(proc_mem "$SERVER_PID" VmRSS)"
    local start_peak
    start_peak="$(proc_mem "$SERVER_PID" VmHWM)"

    # The bound is measured with the server idle, before each load and after the last one;
    # a load is compared with the mean of the bounds just before and just after it, because
    # the machine's other work changes from minute to minute.
    measure_bound
    local before=$BOUND_RATE c
    for c in $CONCURRENCY; do
        measure "$c"
        measure_bound
        record "$label" "$c" "$before" "$BOUND_RATE"
        before=$BOUND_RATE
    done

    MEMORY+=("$label|$idle_rss|$setup_rss|$start_peak")
    stop_server
}

# ---------------------------------------------------------------------------------------------
# run

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
    run_case "$backend"
done

echo
echo "Verity $("$BIN" --version 2>/dev/null | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ', with local changes')), release build"
echo "$START_DATE; $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
echo "$USERS people; each concurrency: ${WARMUP}s warm-up, then ${DURATION}s; driver (one thread) and verity share the machine"
echo "load average at start: $START_LOAD; at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo
echo "bound: Argon2id hashes/s with the server's parameters ($BOUND_DESC), the mean of the"
echo "measurements just before and just after that load (server idle); ratio: flows/s / bound"
echo
printf '%-15s  %5s  %8s  %10s  %10s  %6s  %7s  %5s  %10s  %10s  %7s\n' \
    backend users flows/s p50 p99 errors bound ratio "peak RSS" "RSS after" "driver"
printf '%-15s  %5s  %8s  %10s  %10s  %6s  %7s  %5s  %10s  %10s  %7s\n' \
    --------------- ----- -------- ---------- ---------- ------ ------- ----- ---------- ---------- -------
for row in "${RESULTS[@]}"; do
    IFS='|' read -r b c rps p50 p99 err bound ratio peak after cpu <<<"$row"
    printf '%-15s  %5s  %8.1f  %10s  %10s  %6s  %7.1f  %5s  %10s  %10s  %7s\n' \
        "$b" "$c" "$rps" "$p50" "$p99" "$err" "$bound" "$ratio" "$peak" "$after" "$cpu"
done
echo "peak RSS: the server's VmHWM during that load$PEAK_NOTE; RSS after: 2 s after it; driver: its CPU time as a share of one core"
echo
printf '%-15s  %14s  %16s  %18s\n' backend "idle RSS" "RSS after setup" "peak before load"
printf '%-15s  %14s  %16s  %18s\n' --------------- -------------- ---------------- ------------------
for row in "${MEMORY[@]}"; do
    IFS='|' read -r b idle setup peak <<<"$row"
    printf '%-15s  %14s  %16s  %18s\n' "$b" "$idle" "$setup" "$peak"
done

echo
echo "Goals (>= 0.8 of the Argon2id bound, 0 errors, peak RSS < 120 MB):"
for g in "${GOALS[@]}"; do echo "  $g"; done

((FAILED == 0)) || die "some sign-ins failed (errors column above)"
