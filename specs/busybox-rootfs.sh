#!/usr/bin/env bash
# Write a minimal root filesystem tarball built from Debian's static busybox:
# the image the demo and the tests run (`corral image import OUT busybox`).
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUTPUT.tar}
busybox=/bin/busybox
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,root,tmp,proc,sys,dev,var/www}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
chmod 1777 "$root/tmp"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out" .
