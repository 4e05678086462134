#!/usr/bin/env bash
# scripts/engine.sh — provision and start a local Docker engine for sutrabuild.
#
# Idempotent and non-interactive; run as root on a Debian 12 (bookworm) machine
# without a Docker engine (Debian 13 should work too). Used by `make engine` and
# by .ci/run. Fast (a few seconds) when everything is already up.
#
# What it ensures, one line of output per step:
#   1. host packages from the host's own suite: runc, iptables, qemu-user-static,
#      binfmt-support, docker-registry (distribution 2.8), curl, jq
#   2. dockerd (+ embedded BuildKit), containerd 2.x and docker-buildx from Debian
#      `unstable`, fetched with `apt-get download` through a PRIVATE apt config
#      (/var/lib/sutra-engine/apt: the system's apt sources and pins are never
#      touched) and unpacked with `dpkg -x` into $SUTRA_ENGINE_PREFIX
#      (/opt/sutra-engine). Nothing from unstable is ever `apt-get install`ed.
#   3. the buildx CLI plugin at /usr/local/lib/docker/cli-plugins/docker-buildx
#   4. /etc/docker/daemon.json with the containerd image store enabled
#      (multi-platform images + cache export on the default `docker` driver)
#   5. binfmt_misc + qemu-aarch64 (linux/arm64 RUN steps under emulation)
#   6. dockerd running in the background (log: /var/log/sutra-dockerd.log)
#   7. a plain-HTTP registry on 127.0.0.1:5000 (log: /var/log/sutra-registry.log)
#   8. `docker buildx version` / `docker buildx ls` answer
#
# If an engine already answers `docker info` (e.g. a developer's own Docker),
# steps 2, 4 and 6 are skipped; buildx, binfmt and the registry are still ensured
# (the latter two only when running as root).
#
# Usage:
#   scripts/engine.sh           provision / start (idempotent)
#   scripts/engine.sh --check   also run smoke tests (DNS, arm64 RUN, push to
#                               localhost:5000, pip through the proxy CA via a
#                               BuildKit secret, apt inside a build). Needs the
#                               base-image stand-ins: run scripts/base-images.sh first.
#   scripts/engine.sh --stop    stop dockerd (and its containerd) and the registry
#
# Environment:
#   SUTRA_ENGINE_PREFIX   where the unstable engine is unpacked (/opt/sutra-engine)
#   SUTRA_ENGINE_REFRESH=1  re-download the engine packages from unstable
#   SUTRA_ENGINE_TIMEOUT  seconds to wait for dockerd / registry (default 60)
#
# Stop by hand: scripts/engine.sh --stop   (or kill "$(cat /var/run/docker.pid)";
# kill "$(cat /var/run/sutra-registry.pid)")
set -euo pipefail

PREFIX=${SUTRA_ENGINE_PREFIX:-/opt/sutra-engine}
STATE=/var/lib/sutra-engine
APTDIR=$STATE/apt
DOCKERD_LOG=/var/log/sutra-dockerd.log
DOCKERD_PID=/var/run/docker.pid
REGISTRY_LOG=/var/log/sutra-registry.log
REGISTRY_CONF=$STATE/registry.yml
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
TIMEOUT=${SUTRA_ENGINE_TIMEOUT:-60}
# Engine packages taken from unstable (binaries run on bookworm's glibc 2.36).
ENGINE_PKGS=(docker.io containerd docker-buildx tini-static docker-cli)
# From the host's own suite. runc from unstable needs glibc 2.38: use the host's.
HOST_PKGS=(runc iptables qemu-user-static binfmt-support docker-registry curl jq ca-certificates)

MODE=up
case "${1:-}" in
  "" ) ;;
  --check) MODE=check ;;
  --stop) MODE=stop ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
  *) echo "engine.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

T0=$(date +%s.%N)
TAG=engine
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
is_root() { [ "$(id -u)" = 0 ]; }
engine_up() { timeout 15 docker info >/dev/null 2>&1; }
registry_up() { curl -fsS -m 3 -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }

APT_PRIV=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$APTDIR/etc"
  -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache"
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o APT::Sandbox::User=root -o Debug::NoLocking=1)

# --------------------------------------------------------------------------- stop
if [ "$MODE" = stop ]; then
  step "stop"
  stopped=()
  for pair in "$REGISTRY_PID:$(command -v docker-registry || echo /usr/bin/docker-registry)" "$DOCKERD_PID:$PREFIX/usr/sbin/dockerd"; do
    pf=${pair%%:*}; exe=${pair#*:}
    # only processes started by this script (never a developer's own dockerd)
    if pid_is "$pf" "$exe"; then
      p=$(cat "$pf"); kill "$p"
      for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
      stopped+=("$(basename "$exe")")
    fi
  done
  ok "stopped: ${stopped[*]:-nothing of ours was running}"
  exit 0
fi

# --------------------------------------------------------------------------- host packages
apt_ready=0
apt_update_once() {
  [ "$apt_ready" = 1 ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
  apt_ready=1
}

ENGINE_WAS_UP=0
if engine_up; then ENGINE_WAS_UP=1; fi

if is_root; then
  step "host packages"
  missing=()
  for p in "${HOST_PKGS[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_update_once
    # docker-registry's maintainer script would try to start the service: forbid it.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/sutra-engine-apt.log 2>&1 \
      || { [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d; tail -20 /tmp/sutra-engine-apt.log >&2; die "apt-get install ${missing[*]} failed (log: /tmp/sutra-engine-apt.log)"; }
    [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
    ok "installed: ${missing[*]}"
  else
    ok "present"
  fi
elif [ "$ENGINE_WAS_UP" = 0 ]; then
  die "no Docker engine answers 'docker info' and not running as root: run this script as root to provision one"
fi

# --------------------------------------------------------------------------- engine binaries
fetch_engine() {
  mkdir -p "$APTDIR/etc" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
  # Same mirror URI as the host's own sources, suite unstable, in a private apt
  # config: no change to the system's sources/pins, so `apt-get upgrade` can
  # never pull unstable's libc.
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  cat >"$APTDIR/etc/unstable.sources" <<EOF
Types: deb
URIs: $uri
Suites: unstable
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get "${APT_PRIV[@]}" update -qq >/dev/null || die "apt-get update of the private unstable list failed"
  local dl=$STATE/debs
  rm -rf "$dl" && mkdir -p "$dl"
  (cd "$dl" && apt-get "${APT_PRIV[@]}" download -qq "${ENGINE_PKGS[@]}" >/dev/null) \
    || die "apt-get download ${ENGINE_PKGS[*]} from unstable failed"
  local tmp=$PREFIX.new
  rm -rf "$tmp" && mkdir -p "$tmp"
  for f in "$dl"/*.deb; do dpkg -x "$f" "$tmp"; done
  (cd "$dl" && for f in *.deb; do echo "$f"; done) >"$tmp/.sutra-engine-stamp"
  [ -x "$tmp/usr/sbin/dockerd" ] && [ -x "$tmp/usr/bin/containerd" ] \
    && [ -x "$tmp/usr/libexec/docker/cli-plugins/docker-buildx" ] || die "unpacked engine is incomplete ($tmp)"
  rm -rf "$PREFIX.old"; [ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
  mv "$tmp" "$PREFIX"; rm -rf "$PREFIX.old" "$dl"
}

if [ "$ENGINE_WAS_UP" = 0 ] || ! docker buildx version >/dev/null 2>&1; then
  step "engine binaries (unstable)"
  if [ "${SUTRA_ENGINE_REFRESH:-0}" = 1 ] || [ ! -f "$PREFIX/.sutra-engine-stamp" ]; then
    is_root || die "cannot install the engine binaries without root"
    fetch_engine
    ok "unpacked to $PREFIX: $(tr '\n' ' ' <"$PREFIX/.sutra-engine-stamp")"
  else
    ok "present in $PREFIX"
  fi
fi

# --------------------------------------------------------------------------- docker CLI + buildx plugin
step "docker CLI + buildx plugin"
if ! command -v docker >/dev/null 2>&1; then
  ln -sf "$PREFIX/usr/bin/docker" /usr/local/bin/docker
  hash -r
fi
if docker buildx version >/dev/null 2>&1; then
  ok "$(docker buildx version | awk '{print $1, $2}')"
else
  mkdir -p "$PLUGIN_DIR"
  ln -sf "$PREFIX/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGIN_DIR/docker-buildx"
  docker buildx version >/dev/null 2>&1 || die "docker buildx still not available after linking $PLUGIN_DIR/docker-buildx"
  ok "linked: $(docker buildx version | awk '{print $1, $2}')"
fi

# --------------------------------------------------------------------------- binfmt (arm64 emulation)
ensure_binfmt() {
  local f=/proc/sys/fs/binfmt_misc
  mountpoint -q "$f" || mount -t binfmt_misc binfmt_misc "$f"
  if ! grep -qs '^enabled' "$f/qemu-aarch64"; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  if ! grep -qs '^enabled' "$f/qemu-aarch64" && [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    # Debian 13's qemu-user-binfmt ships systemd binfmt.d files only.
    grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | head -1 >"$f/register"
  fi
  grep -qs '^enabled' "$f/qemu-aarch64" || die "could not register qemu-aarch64 in binfmt_misc"
  # F (fix-binary): the interpreter is opened at registration time, so it works
  # inside containers whose rootfs has no qemu.
  grep -qs '^flags:.*F' "$f/qemu-aarch64" || warn "qemu-aarch64 binfmt lacks the F flag: arm64 RUN steps may fail"
}
step "binfmt qemu-aarch64"
if is_root; then ensure_binfmt; ok "enabled ($(awk '/^flags/{print $2}' /proc/sys/fs/binfmt_misc/qemu-aarch64))"
elif grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then ok "enabled"
else warn "qemu-aarch64 not registered and not root: linux/arm64 builds will fail"; fi

# --------------------------------------------------------------------------- daemon.json + dockerd
write_daemon_json() {
  mkdir -p /etc/docker
  local mtu dev want
  dev=$(ip route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')
  mtu=$(cat "/sys/class/net/$dev/mtu" 2>/dev/null || echo 1500)
  # containerd image store: the `docker` buildx driver then builds multi-platform
  # images and exports local/registry caches. mtu: the uplink here has MTU 1400;
  # a 1500 bridge would black-hole large TLS packets from containers.
  want=$(jq -n --argjson mtu "$mtu" '{features: {"containerd-snapshotter": true}} + (if $mtu < 1500 then {mtu: $mtu} else {} end)')
  if [ -s /etc/docker/daemon.json ]; then
    jq -S --argjson w "$want" '. * $w' /etc/docker/daemon.json >/etc/docker/daemon.json.new \
      || die "/etc/docker/daemon.json is not valid JSON"
  else
    jq -S . <<<"$want" >/etc/docker/daemon.json.new
  fi
  if cmp -s /etc/docker/daemon.json.new /etc/docker/daemon.json; then rm -f /etc/docker/daemon.json.new; echo unchanged
  else mv /etc/docker/daemon.json.new /etc/docker/daemon.json; echo written; fi
}

start_dockerd() {
  if pid_alive "$DOCKERD_PID"; then
    echo "dockerd (pid $(cat "$DOCKERD_PID")) is running but not answering yet"
  else
    # dockerd supervises its own containerd (found on PATH in $PREFIX).
    # A containerd left behind by a killed dockerd is reaped by dockerd itself.
    PATH="$PREFIX/usr/bin:$PREFIX/usr/sbin:$PATH" setsid dockerd --pidfile "$DOCKERD_PID" \
      >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  wait_until "$TIMEOUT" "$DOCKERD_LOG" \
    "dockerd did not answer 'docker info' within ${TIMEOUT}s (log: $DOCKERD_LOG)" engine_up
}

if [ "$ENGINE_WAS_UP" = 1 ]; then
  step "dockerd"
  if pid_is "$DOCKERD_PID" "$PREFIX/usr/sbin/dockerd"; then
    ok "up (ours, pid $(cat "$DOCKERD_PID")): server $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
  else
    ok "an engine already answers 'docker info': not provisioning it (server $(docker version -f '{{.Server.Version}}' 2>/dev/null))"
  fi
  if ! docker info -f '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'; then
    warn "this engine does not use the containerd image store: multi-platform builds on the docker driver" \
      "need {\"features\":{\"containerd-snapshotter\":true}} in its daemon.json (then restart it)"
  fi
else
  step "daemon.json"
  ok "$(write_daemon_json)"
  step "dockerd"
  start_dockerd
  ok "up: server $(docker version -f '{{.Server.Version}}'), log $DOCKERD_LOG"
fi

# --------------------------------------------------------------------------- registry
start_registry() {
  mkdir -p "$STATE" "$REGISTRY_DATA"
  cat >"$REGISTRY_CONF" <<EOF
# Local plain-HTTP registry for sutrabuild (written by scripts/engine.sh)
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  if pid_is "$REGISTRY_PID" "$(command -v docker-registry)"; then kill "$(cat "$REGISTRY_PID")"; sleep 0.5; fi
  setsid docker-registry serve "$REGISTRY_CONF" >>"$REGISTRY_LOG" 2>&1 </dev/null &
  echo $! >"$REGISTRY_PID"
  wait_until "$TIMEOUT" "$REGISTRY_LOG" \
    "registry did not answer on http://$REGISTRY_ADDR/v2/ within ${TIMEOUT}s (log: $REGISTRY_LOG)" \
    registry_up
}
step "registry $REGISTRY_ADDR"
if registry_up; then ok "up"
elif is_root && command -v docker-registry >/dev/null 2>&1; then start_registry; ok "started, log $REGISTRY_LOG"
else warn "nothing answers on http://$REGISTRY_ADDR/v2/ and cannot start docker-registry here"; fi

# --------------------------------------------------------------------------- buildx readiness
step "buildx (docker driver)"
docker buildx ls >/dev/null 2>&1 || die "'docker buildx ls' failed"
printf 'target "x" {\n  context = "."\n}\n' | (cd /tmp && docker buildx bake -f - --print x >/dev/null 2>&1) \
  || die "'docker buildx bake --print' failed"
ok "ls + bake --print answer; builder: $(docker buildx inspect 2>/dev/null | awk '/^Driver:/{print $2; exit}')"

# --------------------------------------------------------------------------- smoke tests
if [ "$MODE" = check ]; then
  CHECK_DIR=$(mktemp -d /tmp/sutra-engine-check.XXXXXX)
  trap 'rm -rf "$CHECK_DIR"' EXIT
  for img in debian:bookworm-slim python:3.11-slim; do
    docker image inspect "$img" >/dev/null 2>&1 || die "--check needs the stand-in $img: run scripts/base-images.sh first"
  done
  B=(docker buildx build --progress=plain)

  step "check: DNS in docker run"
  docker run --rm debian:bookworm-slim getent hosts deb.debian.org >/dev/null || die "DNS fails in 'docker run'"
  ok "ok"

  step "check: DNS + apt in a build"
  printf 'FROM debian:bookworm-slim\nRUN getent hosts deb.debian.org pypi.org && apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null && ls /etc/ssl/certs/ca-certificates.crt\n' \
    | "${B[@]}" --no-cache -o type=cacheonly - >"$CHECK_DIR/apt.log" 2>&1 || { tail -20 "$CHECK_DIR/apt.log" >&2; die "apt/DNS inside a build failed"; }
  ok "apt-get update + install over http works"

  step "check: arm64 RUN (qemu)"
  out=$(printf 'FROM debian:bookworm-slim\nRUN uname -m > /arch\nFROM scratch\nCOPY --from=0 /arch /\n' \
    | "${B[@]}" --no-cache --platform linux/arm64 -o "type=local,dest=$CHECK_DIR/arm" - 2>&1) || { echo "$out" >&2; die "arm64 build failed"; }
  [ "$(cat "$CHECK_DIR/arm/arch")" = aarch64 ] || die "arm64 RUN reported '$(cat "$CHECK_DIR/arm/arch")'"
  ok "uname -m = aarch64"

  step "check: pip via proxy CA secret"
  cat >"$CHECK_DIR/Dockerfile.pip" <<'EOF'
FROM python:3.11-slim
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi; \
    pip install --no-cache-dir --disable-pip-version-check six==1.16.0 && python -c 'import six; print(six.__version__)'
EOF
  "${B[@]}" --no-cache -o type=cacheonly -f "$CHECK_DIR/Dockerfile.pip" \
    --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt "$CHECK_DIR" >"$CHECK_DIR/pip.log" 2>&1 \
    || { tail -20 "$CHECK_DIR/pip.log" >&2; die "pip install inside a build failed"; }
  grep -q "Successfully installed six-1.16.0" "$CHECK_DIR/pip.log" || { tail -20 "$CHECK_DIR/pip.log" >&2; die "pip did not install six"; }
  ok "pip install six==1.16.0 ok"

  step "check: push 2-platform image"
  tag="localhost:5000/sutra-engine-check:latest"
  # $TARGETARCH is for the Dockerfile's RUN to expand, not this shell.
  # shellcheck disable=SC2016
  printf 'FROM debian:bookworm-slim\nARG TARGETARCH\nRUN echo "$TARGETARCH" > /arch\n' \
    | "${B[@]}" --no-cache --platform linux/amd64,linux/arm64 -t "$tag" --push - >"$CHECK_DIR/push.log" 2>&1 \
    || { tail -20 "$CHECK_DIR/push.log" >&2; die "push to localhost:5000 failed"; }
  plats=$(docker buildx imagetools inspect "$tag" | awk '/Platform:/ && $2 != "unknown/unknown" {print $2}' | sort | tr '\n' ' ')
  [ "$plats" = "linux/amd64 linux/arm64 " ] || die "pushed image has platforms '$plats'"
  ok "$tag: $plats"
fi

printf '[engine] ready in %s\n' "$(_el "$T0")"
