# shellcheck shell=bash
# Shared by the scripts in scripts/: one line of output per step, with its duration, under
# the caller's TAG (set before sourcing), and where the local registry keeps its state.
_ts() { date +%s.%N; }
_el() { awk -v a="$1" -v b="$(_ts)" 'BEGIN{printf "%.1fs", b-a}'; }
step() { STEP_NAME=$1; STEP_T=$(_ts); }
ok() { printf '[%s] %-34s %s (%s)\n' "$TAG" "$STEP_NAME" "$1" "$(_el "$STEP_T")"; }
die() { printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2; exit 1; }
warn() { printf '[%s] WARNING: %s\n' "$TAG" "$*" >&2; }

# wait_until SECONDS LOG MESSAGE COMMAND...: poll COMMAND every 0.5 s; on timeout show the
# end of LOG and die with MESSAGE.
wait_until() {
  local seconds=$1 log=$2 message=$3 i=0
  shift 3
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -gt "$((seconds * 2))" ]; then
      tail -25 "$log" >&2 || true
      die "$message"
    fi
    sleep 0.5
  done
}

# The local registry scripts/engine.sh starts (and scripts/reset-engine.sh empties).
# (SC2034: used by the scripts that source this file.)
# shellcheck disable=SC2034
REGISTRY_PID=/var/run/sutra-registry.pid
# shellcheck disable=SC2034
REGISTRY_DATA=/var/lib/sutra-registry
# shellcheck disable=SC2034
REGISTRY_ADDR=127.0.0.1:5000

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# pidfile EXE -> true if that process runs EXE, i.e. we started it: a pid file can outlive its
# process and the number be reused, and we never stop somebody else's process.
pid_is() { pid_alive "$1" && [ "$(readlink "/proc/$(cat "$1")/exe" 2>/dev/null)" = "$2" ]; }
