#!/bin/sh
# Makes build/sysroot-ARCH (armhf or armel): the target's own lua5.1 and the C modules
# busted needs, unpacked from Debian's packages, to run the specs under qemu-arm.
# Installs the cross compiler and qemu-user too. Idempotent; needs root (apt).
set -eu
arch=$1
case $arch in
  armhf) triplet=arm-linux-gnueabihf ;;
  armel) triplet=arm-linux-gnueabi ;;
  *) echo "usage: $0 armhf|armel" >&2; exit 2 ;;
esac
root=build/sysroot-$arch
[ -f "$root/.done" ] && exit 0
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch"
fi
apt-get update -qq || echo "apt-get update had errors; using the indexes it got" >&2
apt-get install -y -qq --no-install-recommends "gcc-$triplet" "libc6-dev-$arch-cross" \
  qemu-user >/dev/null
mkdir -p "$root/debs"
(cd "$root/debs" && apt-get download -qq \
  "lua5.1:$arch" "liblua5.1-0:$arch" "liblua5.1-0-dev:$arch" "libreadline8:$arch" \
  "libtinfo6:$arch" "libc6:$arch" "libgcc-s1:$arch" "lua-system:$arch" "lua-term:$arch" \
  "lua-filesystem:$arch")
for deb in "$root"/debs/*.deb; do dpkg -x "$deb" "$root"; done
touch "$root/.done"
