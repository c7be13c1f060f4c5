#!/usr/bin/env bash
# Builds a local JRE base image with debootstrap, for machines that cannot pull from a
# container registry. Usage: scripts/build-base-image.sh [IMAGE_NAME]  (default splitinfer/jre:17)
# The Debian mirror is taken from this machine's apt sources; nothing here names a registry.
set -euo pipefail
name=${1:-splitinfer/jre:17}
if docker image inspect "$name" >/dev/null 2>&1; then
  echo "base image $name already present"
  exit 0
fi
mirror=$(grep -hoE '^(URIs:|deb) +[a-z]+://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -v -e security -e nodesource -e cloud.google | awk '{print $2}' | head -1 || true)
if [ -z "$mirror" ]; then
  echo "no Debian mirror found in apt sources" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/splitinfer-rootfs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "debootstrap bookworm from $mirror into $dir (about a minute)"
debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$dir" "$mirror" >/tmp/splitinfer-debootstrap.log 2>&1 \
  || { tail -20 /tmp/splitinfer-debootstrap.log >&2; exit 1; }
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$name"
echo "built base image $name"
