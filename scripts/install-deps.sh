#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Installs every Debian package etmem needs to build, test and demo.
# Idempotent; run as root on Debian 12 (bookworm).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format
  # ccache: the sanitizer builds (scripts/sanitize.sh) and repeated runs reuse objects
  ccache
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libyaml-cpp-dev libfmt-dev
  googletest libgtest-dev libgmock-dev
  # run and bus/system tests
  dbus polkitd systemd libxml2-utils procps util-linux
  # deploy checks: libdbus-1-dev ships busconfig.dtd (validates the bus policy); dpkg-dev for cpack DEB
  libdbus-1-dev dpkg-dev
  # bench/realapp: a real application (memcached) and a real client library (libmemcached)
  memcached libmemcached-dev
  # package checks: lintian judges the .deb; bash-completion's pkg-config file names the
  # completions dir and its helpers (_init_completion) drive the completion test; groff/man-db
  # render the manual pages (written in roff directly: no markup tool needed)
  lintian bash-completion groff man-db
  # metrics checks: node_exporter's textfile collector and prometheus_client's OpenMetrics
  # parser read what `etmem project show --format=...` prints (deploy.metrics)
  prometheus-node-exporter python3-prometheus-client curl
  # VM test tier: qemu, initramfs, kernel build from Debian's source package
  qemu-system-x86 busybox-static cpio xz-utils zstd kmod
  bc bison flex libelf-dev libssl-dev dwarves rsync linux-source-6.12
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
