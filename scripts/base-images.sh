#!/usr/bin/env bash
# scripts/base-images.sh — OFFLINE TEST FIXTURES: local stand-ins for the base
# images that sutrabuild's generated Dockerfiles use:
#
#   debian:bookworm-slim   python:3.11-slim   rust:1.82-slim
#
# This machine has no Docker Hub access, so these tags are built locally from
# Debian bookworm packages (mmdebstrap rootfs per architecture, then one
# multi-platform linux/amd64 + linux/arm64 image per tag in the containerd image
# store, via tests/fixtures/base-images/<name>.Dockerfile). They are NOT the
# official images; each carries the label org.sutra.fixture=offline-standin and
# org.sutra.fixture.recipe=<hash of its recipe>.
#
# Idempotent: an image whose recipe hash matches and that has both platforms is
# left alone (a few seconds in all). A changed recipe rebuilds that image only.
# Rootfs tarballs are cached in $SUTRA_BASE_CACHE (/var/cache/sutra-base-images).
# A tag that exists WITHOUT the fixture label and has both platforms (e.g. the
# real image on a developer's engine with Hub access) is left alone.
#
# Needs the engine of scripts/engine.sh (docker driver + containerd image store,
# qemu-aarch64 binfmt) and root for mmdebstrap.
#
# Usage:
#   scripts/base-images.sh            ensure the stand-ins (verifies after a rebuild)
#   scripts/base-images.sh --check    ensure, then always run the verifications
#   scripts/base-images.sh --force    rebuild rootfs tarballs and images
#
# Environment:
#   SUTRA_BASE_CACHE   rootfs cache dir (default /var/cache/sutra-base-images)
#   SUTRA_BASE_JOBS    parallel mmdebstrap runs (default 2)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIX=$(cd "$HERE/../tests/fixtures/base-images" && pwd)
CACHE=${SUTRA_BASE_CACHE:-/var/cache/sutra-base-images}
JOBS=${SUTRA_BASE_JOBS:-2}
ARCHES=(amd64 arm64)
NAMES=(debian python rust)
declare -A TAG=([debian]=debian:bookworm-slim [python]=python:3.11-slim [rust]=rust:1.82-slim)
declare -A DOCKERFILE=([debian]=debian-bookworm-slim.Dockerfile [python]=python-3.11-slim.Dockerfile [rust]=rust-1.82-slim.Dockerfile)
# Bump to force a rebuild of every stand-in.
RECIPE_VERSION=1

MODE=ensure
case "${1:-}" in
  "") ;;
  --check) MODE=check ;;
  --force) MODE=force ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
  *) echo "base-images.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

T0=$(date +%s.%N)
TAG=base-images
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# --------------------------------------------------------------------------- preflight
step "preflight"
timeout 15 docker info >/dev/null 2>&1 || die "no Docker engine answers 'docker info': run scripts/engine.sh first"
docker buildx version >/dev/null 2>&1 || die "docker buildx is missing: run scripts/engine.sh first"
docker info -f '{{json .DriverStatus}}' | grep -q io.containerd.snapshotter \
  || die "the engine does not use the containerd image store (needed for multi-platform images): see scripts/engine.sh"
ok "engine + buildx + containerd store"

# --------------------------------------------------------------------------- recipes
# Mirror URIs: the host's own (same mirror as apt on this machine).
MIRROR=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
SECMIRROR=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}

# mmdebstrap arguments of one stand-in, one per line (also hashed into the stamp).
recipe() {
  # Common: bookworm minbase, merged /usr via usr-is-merged (not usrmerge+perl),
  # no docs/man/locales (persisted in /etc/dpkg/dpkg.cfg.d like the official
  # slim images), apt lists removed (mmdebstrap's default cleanup), no /dev nodes.
  cat <<EOF
--variant=minbase
--format=tar
--skip=output/dev
--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata
--dpkgopt=path-exclude=/usr/share/man/*
--dpkgopt=path-exclude=/usr/share/doc/*
--dpkgopt=path-include=/usr/share/doc/*/copyright
--dpkgopt=path-exclude=/usr/share/info/*
--dpkgopt=path-exclude=/usr/share/locale/*
--dpkgopt=path-exclude=/usr/share/groff/*
--dpkgopt=path-exclude=/usr/share/lintian/*
--customize-hook=rm -f "\$1/etc/hostname" "\$1/etc/resolv.conf"
EOF
  case $1 in
    debian) ;;
    python) cat <<'EOF'
--include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates
--customize-hook=rm -f "$1/usr/lib/python3.11/EXTERNALLY-MANAGED"
--customize-hook=ln -s /usr/bin/python3 "$1/usr/local/bin/python3" && ln -s /usr/bin/python3 "$1/usr/local/bin/python"
EOF
      ;;
    rust) cat <<'EOF'
--include=rustc-web,cargo-web,gcc,libc6-dev,ca-certificates
--customize-hook=mkdir -p "$1/usr/local/cargo/bin" "$1/usr/local/rustup" && for b in cargo rustc rustdoc; do ln -s "/usr/bin/$b" "$1/usr/local/cargo/bin/$b"; done && chmod -R a+w "$1/usr/local/cargo" "$1/usr/local/rustup"
EOF
      ;;
  esac
  cat <<EOF
bookworm
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECMIRROR bookworm-security main
EOF
}

# RHASH: the rootfs recipe (names the tarball cache dir); HASH: rootfs + Dockerfile
# (the image stamp). Editing only a Dockerfile rebuilds the image in seconds.
declare -A HASH RHASH
for n in "${NAMES[@]}"; do
  RHASH[$n]=$({ echo "v$RECIPE_VERSION"; recipe "$n"; } | sha256sum | cut -c1-16)
  HASH[$n]=$({ echo "${RHASH[$n]}"; cat "$FIX/${DOCKERFILE[$n]}"; } | sha256sum | cut -c1-16)
done

# --------------------------------------------------------------------------- what is up to date?
has_platform() { docker image inspect --platform "linux/$2" "$1" >/dev/null 2>&1; }
label_of() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

step "check existing images"
TODO=()
status=()
for n in "${NAMES[@]}"; do
  t=${TAG[$n]}
  both=1; for a in "${ARCHES[@]}"; do has_platform "$t" "$a" || both=0; done
  fixture=$(label_of "$t" org.sutra.fixture)
  if [ "$MODE" != force ] && [ "$both" = 1 ] && [ -z "$fixture" ] && docker image inspect "$t" >/dev/null 2>&1; then
    status+=("$t: not a fixture, kept")
  elif [ "$MODE" != force ] && [ "$both" = 1 ] && [ "$(label_of "$t" org.sutra.fixture.recipe)" = "${HASH[$n]}" ]; then
    status+=("$t: up to date")
  else
    TODO+=("$n"); status+=("$t: to build")
  fi
done
ok "$(IFS=';'; echo "${status[*]}" | sed 's/;/; /g')"

# --------------------------------------------------------------------------- rootfs tarballs
ensure_host_tools() {
  local missing=()
  for p in mmdebstrap arch-test qemu-user-static binfmt-support; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to install ${missing[*]}"
  mkdir -p "$CACHE/logs"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$CACHE/logs/apt.log" 2>&1 \
    || { tail -20 "$CACHE/logs/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

build_rootfs() { # name arch -> $CACHE/name/hash/rootfs-arch.tar
  local n=$1 a=$2 dir=$CACHE/$1/${RHASH[$1]} log
  log=$CACHE/logs/$n-$a.log
  local t args=()
  t=$(_ts)
  mapfile -t args < <(recipe "$n")
  rm -f "$dir/rootfs-$a.tar.tmp"
  # the suite + mirror lines come last; options first
  if mmdebstrap --architectures="$a" "${args[@]:0:${#args[@]}-4}" \
       "${args[@]: -4:1}" "$dir/rootfs-$a.tar.tmp" "${args[@]: -3}" >"$log" 2>&1; then
    mv "$dir/rootfs-$a.tar.tmp" "$dir/rootfs-$a.tar"
    printf '[base-images] %-34s %s (%s)\n' "rootfs $n/$a" "$(du -h "$dir/rootfs-$a.tar" | cut -f1)" "$(_el "$t")"
  else
    rm -f "$dir/rootfs-$a.tar.tmp"
    tail -15 "$log" >&2
    printf '[base-images] ERROR: mmdebstrap %s/%s failed (log: %s)\n' "$n" "$a" "$log" >&2
    return 1
  fi
}

if [ ${#TODO[@]} -gt 0 ]; then
  step "rootfs tarballs"
  mkdir -p "$CACHE/logs"
  jobs_list=()
  # longest first: arm64 runs under qemu
  for a in arm64 amd64; do
    for n in rust python debian; do
      [[ " ${TODO[*]} " == *" $n "* ]] || continue
      mkdir -p "$CACHE/$n/${RHASH[$n]}"
      if [ "$MODE" = force ] || [ ! -s "$CACHE/$n/${RHASH[$n]}/rootfs-$a.tar" ]; then jobs_list+=("$n/$a"); fi
    done
  done
  if [ ${#jobs_list[@]} -gt 0 ]; then
    ensure_host_tools
    grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "qemu-aarch64 binfmt is not enabled: run scripts/engine.sh first"
    fail=0; running=0
    for j in "${jobs_list[@]}"; do
      if [ "$running" -ge "$JOBS" ]; then wait -n || fail=1; running=$((running - 1)); fi
      build_rootfs "${j%/*}" "${j#*/}" &
      running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do wait -n || fail=1; running=$((running - 1)); done
    [ "$fail" = 0 ] || die "building a rootfs failed"
    ok "built ${jobs_list[*]}"
  else
    ok "cached in $CACHE"
  fi
  # drop tarballs of older recipes
  for n in "${NAMES[@]}"; do
    [ -d "$CACHE/$n" ] || continue
    find "$CACHE/$n" -mindepth 1 -maxdepth 1 -type d ! -name "${RHASH[$n]}" -exec rm -rf {} +
  done
fi

# --------------------------------------------------------------------------- images
pkg_version() { # tar pkg -> upstream version (e.g. 3.11.2)
  tar -xOf "$1" ./var/lib/dpkg/status | awk -v p="$2" '
    $1=="Package:" {cur=$2} $1=="Version:" && cur==p {v=$2; sub(/^[0-9]+:/,"",v); sub(/[-+~].*/,"",v); print v; exit}'
}

for n in "${TODO[@]}"; do
  t=${TAG[$n]}; ctx=$CACHE/$n/${RHASH[$n]}
  step "image $t"
  extra=()
  case $n in
    python) extra=(--build-arg "PYTHON_VERSION=$(pkg_version "$ctx/rootfs-amd64.tar" python3.11)") ;;
    rust) extra=(--build-arg "RUST_VERSION=$(pkg_version "$ctx/rootfs-amd64.tar" rustc-web)") ;;
  esac
  docker buildx build --progress=quiet --provenance=false --sbom=false \
    --platform linux/amd64,linux/arm64 -f "$FIX/${DOCKERFILE[$n]}" \
    --label "org.sutra.fixture.recipe=${HASH[$n]}" "${extra[@]}" -t "$t" "$ctx" >"$CACHE/logs/image-$n.log" 2>&1 \
    || { tail -20 "$CACHE/logs/image-$n.log" >&2; die "docker buildx build of $t failed"; }
  for a in "${ARCHES[@]}"; do has_platform "$t" "$a" || die "$t has no linux/$a variant after the build"; done
  ok "linux/amd64 + linux/arm64; amd64 layer $(docker image inspect -f '{{.Size}}' "$t" | awk '{printf "%.0f MB", $1/1e6}') compressed, rootfs $(du -h "$ctx/rootfs-amd64.tar" | cut -f1)"
done
if [ ${#TODO[@]} -gt 0 ]; then
  docker image prune -f --filter label=org.sutra.fixture=offline-standin >/dev/null 2>&1 || true
fi

# --------------------------------------------------------------------------- verification
run_check() { # description, function
  step "verify: $1"
  local out
  if out=$("$2" 2>&1); then ok "$(printf '%s' "$out" | tail -1)"
  else printf '%s\n' "$out" | tail -25 >&2; die "verification failed: $1"; fi
}
want_check() { [ "$MODE" = check ] || [[ " ${TODO[*]} " == *" $1 "* ]]; }

# (each check returns non-zero on the first failure: errexit does not apply in $(...) under `if`)
check_debian() {
  [ "$(docker run --rm --platform linux/arm64 debian:bookworm-slim uname -m)" = aarch64 ] || return 1
  printf 'FROM debian:bookworm-slim\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null && test -s /etc/ssl/certs/ca-certificates.crt\n' \
    | docker buildx build --progress=plain --no-cache -o type=cacheonly - || return 1
  echo "arm64 run ok; apt-get update + install ca-certificates in a build ok"
}
check_python() {
  local v m
  docker run --rm python:3.11-slim sh -ec 'pip --version >/dev/null; python -m venv /tmp/v; /tmp/v/bin/pip --version >/dev/null' || return 1
  v=$(docker run --rm python:3.11-slim python -c 'import sys;print(sys.version.split()[0])') || return 1
  m=$(docker run --rm --platform linux/arm64 python:3.11-slim python3 -c 'import platform;print(platform.machine())') || return 1
  [ "$m" = aarch64 ] || return 1
  echo "python $v, pip + venv ok, arm64 ok"
}
check_rust() {
  local a out
  for a in amd64 arm64; do
    docker buildx build --progress=plain --no-cache --provenance=false --platform "linux/$a" -t "sutra-fixture-hello:$a" "$FIX/rust-hello" || return 1
    out=$(docker run --rm --platform "linux/$a" "sutra-fixture-hello:$a") || return 1
    [ "$out" = "hello from sutrabuild" ] || { echo "unexpected output: $out"; return 1; }
  done
  docker image rm sutra-fixture-hello:amd64 sutra-fixture-hello:arm64 >/dev/null
  echo "std-only HTTP binary built in rust:1.82-slim served a request in debian:bookworm-slim (amd64 + arm64)"
}
if want_check debian; then run_check "debian:bookworm-slim" check_debian; fi
if want_check python; then run_check "python:3.11-slim" check_python; fi
if want_check rust; then run_check "rust:1.82-slim" check_rust; fi

printf '[base-images] ready in %s\n' "$(_el "$T0")"
