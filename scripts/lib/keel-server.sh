# Sourced by the scripts that test a real Keel server on loopback (scripts/fuzz-api, and usable
# by scripts/compat-test): find free ports, start servers in the background, wait for /health,
# and stop every server started here on exit.
#
# The sourcing script sets: KEEL_BIN (the server binary), py (a python3 for the port and health
# probes), workdir (server logs go to $workdir/NAME.log), and may set HEALTH_TIMEOUT_SECS
# (default 30), KEEL_LOG_LEVEL (default info) and SCRIPT_NAME (prefix of messages).

server_pids=()

# stop_servers: TERM to every server started by start_server, then waits for them.
stop_servers() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    server_pids=()
}

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME PORT [ENV=VALUE...]: starts `keel server` in DEV_MODE on 127.0.0.1:PORT in
# the background (the ENV=VALUE pairs override), waits for /health; on failure shows the log.
# The caller's AUTH_* variables are not passed on: a server's authentication settings are its
# ENV=VALUE pairs (none: AUTH_MODE=none, the DEV_MODE default).
start_server() {
    local name=$1 port=$2
    shift 2
    local log="$workdir/$name.log" prefix=${SCRIPT_NAME:-keel-server} variable
    local scrubbed=()
    for variable in $(compgen -e); do
        if [[ "$variable" == AUTH_* ]]; then scrubbed+=(-u "$variable"); fi
    done
    env "${scrubbed[@]}" DEV_MODE=1 HOST=127.0.0.1 PORT="$port" LOG_LEVEL="${KEEL_LOG_LEVEL:-info}" "$@" \
        "$KEEL_BIN" server >"$log" 2>&1 &
    local pid=$!
    server_pids+=("$pid")
    local deadline=$((SECONDS + ${HEALTH_TIMEOUT_SECS:-30}))
    until "$py" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
    do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$prefix: server '$name' exited during startup; log:" >&2
            cat "$log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "$prefix: server '$name' not healthy on port $port after ${HEALTH_TIMEOUT_SECS:-30}s; log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.2
    done
}
