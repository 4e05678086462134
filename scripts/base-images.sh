#!/usr/bin/env bash
# scripts/base-images.sh — OFFLINE TEST FIXTURES: local stand-ins for the base
# images that sutrabuild's generated Dockerfiles use:
#
#   debian:bookworm-slim   python:3.11-slim   rust:1.82-slim   node:18-bookworm-slim
#
# This machine has no Docker Hub access, so these tags are built locally from
# Debian bookworm packages, in the official images' own layering:
#   - debian:bookworm-slim: an mmdebstrap "minbase" rootfs per architecture (amd64
#     and arm64 built at the same time), plus the official images' apt/dpkg
#     settings (docker-clean, ...), as one multi-platform image;
#   - python:3.11-slim, rust:1.82-slim and node:18-bookworm-slim: FROM that debian
#     stand-in, with Debian's packages installed by apt, built at the same time, each
#     multi-platform.
# Recipes: tests/fixtures/base-images/<name>.Dockerfile. They are NOT the official
# images; each carries the label org.sutra.fixture=offline-standin and
# org.sutra.fixture.recipe=<hash of its recipe>.
#
# Idempotent: an image whose recipe hash matches and that has both platforms is
# left alone (a few seconds in all). A changed recipe rebuilds that image (and the
# images built on it). Rootfs tarballs are cached in $SUTRA_BASE_CACHE
# (/var/cache/sutra-base-images). A tag that exists WITHOUT the fixture label and
# has both platforms (e.g. the real image on a developer's engine with Hub access)
# is left alone.
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
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIX=$(cd "$HERE/../tests/fixtures/base-images" && pwd)
CACHE=${SUTRA_BASE_CACHE:-/var/cache/sutra-base-images}
ARCHES=(amd64 arm64)
# Build order: debian first, the others are built FROM it.
NAMES=(debian python rust node)
DERIVED=(python rust node)
declare -A IMAGE_TAG=([debian]=debian:bookworm-slim [python]=python:3.11-slim [rust]=rust:1.82-slim
  [node]=node:18-bookworm-slim)
declare -A DOCKERFILE=([debian]=debian-bookworm-slim.Dockerfile [python]=python-3.11-slim.Dockerfile
  [rust]=rust-1.82-slim.Dockerfile [node]=node-18-bookworm-slim.Dockerfile)
# The version a derived stand-in reports in its ENV, as the official image does: the
# build argument, and the Debian package whose upstream version it is.
declare -A VERSION_ARG=([python]=PYTHON_VERSION [rust]=RUST_VERSION [node]=NODE_VERSION)
declare -A VERSION_PKG=([python]=python3.11 [rust]=rustc-web [node]=nodejs)
# Bump to force a rebuild of every stand-in.
RECIPE_VERSION=2

MODE=ensure
case "${1:-}" in
  "") ;;
  --check) MODE=check ;;
  --force) MODE=force ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
  *) echo "base-images.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

T0=$(date +%s.%N)
TAG=base-images  # the log prefix of lib.sh's step/ok/die
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

# mmdebstrap arguments of the debian rootfs, one per line (also hashed into the stamp):
# bookworm minbase, merged /usr via usr-is-merged (not usrmerge+perl), no docs/man/locales
# (persisted in /etc/dpkg/dpkg.cfg.d like the official slim images, so what the derived
# stand-ins install follows them too), apt lists removed (mmdebstrap's default cleanup),
# no /dev nodes.
recipe() {
  cat <<RECIPE
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
bookworm
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECMIRROR bookworm-security main
RECIPE
}

# RHASH: the rootfs recipe (names the tarball cache dir). HASH: everything an image is
# made of: the rootfs recipe, the apt/dpkg overlay, its Dockerfile and those of the image
# it is built on. Editing only a Dockerfile rebuilds images in seconds.
RHASH=$({ echo "v$RECIPE_VERSION"; recipe; } | sha256sum | cut -c1-16)
OVERLAY_HASH=$(cd "$FIX/overlay" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
declare -A HASH
HASH[debian]=$({ echo "$RHASH $OVERLAY_HASH"; cat "$FIX/${DOCKERFILE[debian]}"; } | sha256sum | cut -c1-16)
for n in "${DERIVED[@]}"; do
  HASH[$n]=$({ echo "${HASH[debian]}"; cat "$FIX/${DOCKERFILE[$n]}"; } | sha256sum | cut -c1-16)
done
ROOTFS_DIR=$CACHE/debian/$RHASH

# --------------------------------------------------------------------------- what is up to date?
has_platform() { docker image inspect --platform "linux/$2" "$1" >/dev/null 2>&1; }
label_of() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
has_both_platforms() {
  local a
  for a in "${ARCHES[@]}"; do has_platform "$1" "$a" || return 1; done
}
todo_has() { [[ " ${TODO[*]} " == *" $1 "* ]]; }

step "check existing images"
TODO=()
status=()
for n in "${NAMES[@]}"; do
  t=${IMAGE_TAG[$n]}
  if [ "$n" != debian ] && todo_has debian; then
    TODO+=("$n"); status+=("$t: to build (on the new debian stand-in)")
  elif [ "$MODE" != force ] && has_both_platforms "$t" && [ -z "$(label_of "$t" org.sutra.fixture)" ]; then
    status+=("$t: not a fixture, kept")
  elif [ "$MODE" != force ] && has_both_platforms "$t" && [ "$(label_of "$t" org.sutra.fixture.recipe)" = "${HASH[$n]}" ]; then
    status+=("$t: up to date")
  else
    TODO+=("$n"); status+=("$t: to build")
  fi
done
joined=$(IFS=';'; echo "${status[*]}")
ok "${joined//;/; }"

# --------------------------------------------------------------------------- debian rootfs tarballs
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

build_rootfs() { # arch -> $ROOTFS_DIR/rootfs-arch.tar
  local a=$1 log=$CACHE/logs/debian-$1.log t args=()
  t=$(_ts)
  mapfile -t args < <(recipe)
  rm -f "$ROOTFS_DIR/rootfs-$a.tar.tmp"
  # the suite + mirror lines come last; options first
  if mmdebstrap --architectures="$a" "${args[@]:0:${#args[@]}-4}" \
       "${args[@]: -4:1}" "$ROOTFS_DIR/rootfs-$a.tar.tmp" "${args[@]: -3}" >"$log" 2>&1; then
    mv "$ROOTFS_DIR/rootfs-$a.tar.tmp" "$ROOTFS_DIR/rootfs-$a.tar"
    printf '[%s] %-34s %s (%s)\n' "$TAG" "rootfs debian/$a" "$(du -h "$ROOTFS_DIR/rootfs-$a.tar" | cut -f1)" "$(_el "$t")"
  else
    rm -f "$ROOTFS_DIR/rootfs-$a.tar.tmp"
    tail -15 "$log" >&2
    printf '[%s] ERROR: mmdebstrap debian/%s failed (log: %s)\n' "$TAG" "$a" "$log" >&2
    return 1
  fi
}

# wait_all PID...: wait for every job, then fail if any failed (not just the first).
wait_all() {
  local pid fail=0
  for pid in "$@"; do wait "$pid" || fail=1; done
  return "$fail"
}

if todo_has debian; then
  step "rootfs tarballs"
  mkdir -p "$CACHE/logs" "$ROOTFS_DIR"
  pending=()
  for a in "${ARCHES[@]}"; do
    if [ "$MODE" = force ] || [ ! -s "$ROOTFS_DIR/rootfs-$a.tar" ]; then pending+=("$a"); fi
  done
  if [ ${#pending[@]} -gt 0 ]; then
    ensure_host_tools
    grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "qemu-aarch64 binfmt is not enabled: run scripts/engine.sh first"
    # Every architecture at once: arm64 runs its maintainer scripts under QEMU, amd64
    # finishes long before it.
    pids=()
    for a in "${pending[@]}"; do build_rootfs "$a" & pids+=($!); done
    wait_all "${pids[@]}" || die "building a rootfs failed"
    ok "built ${pending[*]}"
  else
    ok "cached in $ROOTFS_DIR"
  fi
  # drop tarballs of older recipes, including the per-image ones of recipe version 1
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name debian ! -name logs -exec rm -rf {} +
  find "$CACHE/debian" -mindepth 1 -maxdepth 1 -type d ! -name "$RHASH" -exec rm -rf {} +
fi

# --------------------------------------------------------------------------- images
# build_image NAME [BUILDX ARGS...]: the multi-platform stand-in, tagged; its log goes to
# $CACHE/logs/image-NAME.log.
build_image() {
  local n=$1 ctx=$ROOTFS_DIR
  shift
  # The derived stand-ins copy nothing: their context is an empty directory.
  [ "$n" = debian ] || ctx=$(mktemp -d)
  docker buildx build --progress=plain --provenance=false --sbom=false \
    --platform linux/amd64,linux/arm64 -f "$FIX/${DOCKERFILE[$n]}" \
    --build-context "overlay=$FIX/overlay" \
    --label "org.sutra.fixture.recipe=${HASH[$n]}" "$@" -t "${IMAGE_TAG[$n]}" "$ctx" \
    >>"$CACHE/logs/image-$n.log" 2>&1 \
    || { tail -20 "$CACHE/logs/image-$n.log" >&2; die "docker buildx build of ${IMAGE_TAG[$n]} failed (log: $CACHE/logs/image-$n.log)"; }
  [ "$n" = debian ] || rmdir "$ctx"
}

# The upstream version of the package apt would install in the debian stand-in
# (3.11.2-6+deb12u6 -> 3.11.2), for the ENV the official image sets.
candidate_version() {
  docker run --rm "${IMAGE_TAG[debian]}" sh -c \
    "apt-get update -qq >/dev/null && apt-cache show --no-all-versions $1 | sed -n 's/^Version: //p'" \
    | sed 's/^[0-9]*://; s/[-+~].*//'
}

build_derived() {
  local n=$1 version
  version=$(candidate_version "${VERSION_PKG[$n]}")
  [ -n "$version" ] || die "could not read the version of ${VERSION_PKG[$n]} in ${IMAGE_TAG[debian]}"
  : >"$CACHE/logs/image-$n.log"
  build_image "$n" --build-arg "${VERSION_ARG[$n]}=$version"
  printf '[%s] %-34s %s\n' "$TAG" "image ${IMAGE_TAG[$n]}" "linux/amd64 + linux/arm64, ${VERSION_ARG[$n]}=$version"
}

if todo_has debian; then
  step "image ${IMAGE_TAG[debian]}"
  mkdir -p "$CACHE/logs"
  : >"$CACHE/logs/image-debian.log"
  build_image debian
  ok "linux/amd64 + linux/arm64, rootfs $(du -h "$ROOTFS_DIR/rootfs-amd64.tar" | cut -f1)"
fi
derived=()
for n in "${DERIVED[@]}"; do
  if todo_has "$n"; then derived+=("$n"); fi
done
if [ ${#derived[@]} -gt 0 ]; then
  step "derived stand-ins"
  mkdir -p "$CACHE/logs"
  # Built at the same time: each spends most of its time in apt under QEMU for arm64.
  pids=()
  for n in "${derived[@]}"; do build_derived "$n" & pids+=($!); done
  wait_all "${pids[@]}" || die "building a derived stand-in failed"
  ok "built ${derived[*]}"
fi
for n in "${TODO[@]}"; do
  has_both_platforms "${IMAGE_TAG[$n]}" || die "${IMAGE_TAG[$n]} lacks linux/amd64 or linux/arm64 after the build"
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
  # docker-clean, as in the official image: an install leaves no package cache behind.
  printf 'FROM debian:bookworm-slim\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null && test -s /etc/ssl/certs/ca-certificates.crt && ! ls /var/cache/apt/*.bin /var/cache/apt/archives/*.deb 2>/dev/null\n' \
    | docker buildx build --progress=plain --no-cache -o type=cacheonly - || return 1
  echo "arm64 run ok; apt-get update + install ca-certificates in a build ok, no apt cache left"
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
check_node() {
  local v m
  docker run --rm node:18-bookworm-slim sh -ec 'npm --version >/dev/null; id -u node >/dev/null' || return 1
  v=$(docker run --rm node:18-bookworm-slim node --version) || return 1
  m=$(docker run --rm --platform linux/arm64 node:18-bookworm-slim node -p process.arch) || return 1
  [ "$m" = arm64 ] || return 1
  echo "node $v, npm and the node user ok, arm64 ok"
}
if want_check debian; then run_check "debian:bookworm-slim" check_debian; fi
if want_check python; then run_check "python:3.11-slim" check_python; fi
if want_check rust; then run_check "rust:1.82-slim" check_rust; fi
if want_check node; then run_check "node:18-bookworm-slim" check_node; fi

printf '[base-images] ready in %s\n' "$(_el "$T0")"
