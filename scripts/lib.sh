# shellcheck shell=bash
# Shared by scripts/engine.sh and scripts/base-images.sh: one line of output per step,
# with its duration, under the caller's TAG (set before sourcing).
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
