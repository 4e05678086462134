#!/usr/bin/env bash
# scripts/reset-engine.sh — put the engine back into the state a brand-new machine has after
# `make engine`, so that a test run proves what a fresh CI machine would see
# (`make test-fresh` = this script, then `make test`). Cached arm64 layers, warm pip and
# cargo cache mounts and images built by hand all hide bugs.
#
# What it does, one line of output per step:
#   1. `docker buildx prune --all --force`: the whole build cache, cache mounts included
#   2. removes every image this project built: those labelled with the project's
#      org.opencontainers.image.source, plus the fixtures' own throwaway test images.
#      The base-image stand-ins (org.sutra.fixture=offline-standin) stay: `make engine`
#      provides them, exactly as on a fresh machine.
#   3. empties the local registry on 127.0.0.1:5000 (stops it, wipes its storage, and lets
#      scripts/engine.sh start it again). Only a registry that scripts/engine.sh started.
#
# Usage: scripts/reset-engine.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TAG=reset
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
T0=$(_ts)

timeout 15 docker info >/dev/null 2>&1 || die "no Docker engine answers 'docker info': run make engine first"

step "build cache"
docker buildx prune --all --force >/dev/null
# BuildKit finishes releasing records after prune returns; a build racing that bookkeeping
# has failed with "failed to get dead record". Wait until the cache reports empty.
# Captured, then read whole by awk: a `| grep -q` exits at its first match, and under
# pipefail the writer's SIGPIPE would turn "not empty" into "empty".
cache_is_empty() {
  local usage
  usage=$(docker buildx du 2>/dev/null) || return 1
  awk 'NR > 1 && !/^(Reclaimable|Total):/ { records = 1 } END { exit records }' <<<"$usage"
}
wait_until 30 /dev/null "the build cache did not empty" cache_is_empty
ok "pruned"

step "project images"
# The specs' own reader, not a text match on the YAML layout.
source_label=$(.venv/bin/python -c 'from pathlib import Path
from generator.commands import load
print(load(Path(".")).project.settings.source)')
[ -n "$source_label" ] || die "editions/project.yaml has no project.source"
mapfile -t images < <(
  {
    docker image ls --filter "label=org.opencontainers.image.source=$source_label" --format '{{.ID}}'
    docker image ls --filter 'reference=sutra-fixture-*' --format '{{.ID}}'
  } | sort -u
)
if [ ${#images[@]} -gt 0 ]; then
  docker image rm --force "${images[@]}" >/dev/null
fi
ok "removed ${#images[@]}"

step "local registry"
if pid_is "$REGISTRY_PID" "$(command -v docker-registry || echo /usr/bin/docker-registry)"; then
  kill "$(cat "$REGISTRY_PID")"
  registry_gone() { ! kill -0 "$1" 2>/dev/null; }
  wait_until 20 /dev/null "the registry did not stop" registry_gone "$(cat "$REGISTRY_PID")"
  rm -rf "${REGISTRY_DATA:?}"/*
  ok "emptied $REGISTRY_DATA"
elif curl -fsS -m 3 -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; then
  die "a registry on $REGISTRY_ADDR answers but scripts/engine.sh did not start it: cannot empty it"
else
  rm -rf "${REGISTRY_DATA:?}"/*
  ok "was not running; storage emptied"
fi

scripts/engine.sh >/dev/null
printf '[%s] engine reset in %s (registry restarted by scripts/engine.sh)\n' "$TAG" "$(_el "$T0")"
