#!/usr/bin/env bash
# Stand-in base images for the Dockerfiles' `node:<version>-bookworm-slim` and `node:<version>-bookworm`,
# built offline-capable from Debian packages only (no container registry is reachable here):
#   slim  = debootstrap --variant=minbase bookworm + this machine's Node (binary, npm, corepack) in
#           /usr/local + user `node` 1000:1000, imported with `podman import`;
#   full  = slim + a compiler (g++, make, python3) for native addons, Node's headers with
#           npm_config_nodedir (node-gyp cannot download them), and this machine's CA bundle with
#           NODE_EXTRA_CA_CERTS (npm must trust what the host trusts).
# Images that already exist are reused. Needs root, debootstrap and podman.
# Usage: base-images.sh [node-version]   (default: the version of `node` on PATH, which must match)
set -euo pipefail

NODE_VERSION=${1:-$(node -p process.versions.node)}
SLIM="node:${NODE_VERSION}-bookworm-slim"
FULL="node:${NODE_VERSION}-bookworm"
HERE=$(cd "$(dirname "$0")" && pwd)
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
NICE=(nice -n 10)

die() { printf 'base-images: %s\n' "$*" >&2; exit 1; }
have_image() { "${PODMAN[@]}" image exists "$1"; }

host_node=$(command -v node) || die "no node on PATH: the stand-in images copy this machine's Node"
[[ $(node -p process.versions.node) == "$NODE_VERSION" ]] ||
  die "the Dockerfiles want Node $NODE_VERSION but this machine has $(node -v): install Node $NODE_VERSION"
node_prefix=$(cd "$(dirname "$(readlink -f "$host_node")")/.." && pwd)
[[ -d $node_prefix/include/node ]] || die "no Node headers in $node_prefix/include/node"
[[ -d $node_prefix/lib/node_modules/npm ]] || die "no npm in $node_prefix/lib/node_modules/npm"

# The Debian mirror apt already uses (deb822 .sources or one-line sources.list), bookworm suite.
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

if have_image "$SLIM"; then
  echo "base-images: reusing $SLIM"
else
  work=$(mktemp -d /var/tmp/conveyor-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  root=$work/rootfs
  mirror=$(debian_mirror)
  echo "base-images: debootstrap --variant=minbase bookworm from $mirror"
  "${NICE[@]}" debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp "$(readlink -f "$host_node")" "$root/usr/local/bin/node"
  cp -a "$node_prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/"
  [[ -d $node_prefix/lib/node_modules/corepack ]] && cp -a "$node_prefix/lib/node_modules/corepack" "$root/usr/local/lib/node_modules/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
  tar -C "$root" --numeric-owner -cf "$work/rootfs.tar" .
  "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    "$work/rootfs.tar" "$SLIM" >/dev/null
  echo "base-images: imported $SLIM"
fi

if have_image "$FULL"; then
  echo "base-images: reusing $FULL"
else
  ctx=$(mktemp -d /var/tmp/conveyor-base-full.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  cp -a "$node_prefix/include/node" "$ctx/node-include"
  cp -L /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  echo "base-images: building $FULL (apt-get install g++ make python3 in $SLIM)"
  "${NICE[@]}" "${PODMAN[@]}" build --pull=never --network host --build-arg "SLIM=$SLIM" \
    -f "$HERE/Containerfile.node-build" -t "$FULL" "$ctx" >"$ctx/build.log" 2>&1 ||
    { tail -n 30 "$ctx/build.log" >&2; die "building $FULL failed (log above)"; }
  echo "base-images: built $FULL"
fi
