#!/bin/sh
# Install what vtpm needs on Debian 12, or say exactly what to install.
#   scripts/deps.sh            everything make check and make demo need
# As root it runs apt-get itself; otherwise it prints the apt-get line and fails.
set -eu

PKGS="meson ninja-build gcc clang pkg-config libssl-dev openssl libcmocka-dev libseccomp-dev
libsqlite3-dev sqlite3 tpm2-tools libtss2-dev libtss2-tcti-swtpm0 libtss2-tcti-cmd0
libtss2-tcti-device0 swtpm
swtpm-tools qemu-system-x86 ovmf busybox-static cpio gzip xz-utils python3 libclang-rt-14-dev
procps psmisc iproute2 util-linux valgrind"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps: missing packages. Run as root:"
    echo "  apt-get update && apt-get install -y --no-install-recommends$missing"
    exit 1
fi
