#!/bin/sh
# Build (or find in the cache) the guest used by the boot test: a Debian cloud kernel and a
# busybox initramfs whose /init (tests/guest/init.sh) checks the TPM from inside the guest.
#
#   tests/guest/build.sh        prints VTPM_GUEST_KERNEL=<path> and VTPM_GUEST_INITRD=<path>
#
# The kernel is the newest linux-image-<abi>-cloud-amd64 of this Debian release: the package
# that the newest linux-image-cloud-amd64 meta-package in the local apt lists depends on (on
# Debian 12: the 6.1 series), fetched with `apt-get download` and unpacked with dpkg-deb.
# VTPM_GUEST_KERNEL_META=<meta-package> follows another series (linux-image-6.12-cloud-amd64
# on Debian 12); VTPM_GUEST_KERNEL_PKG=<package> names the kernel package outright.
# The initramfs holds busybox-static, Debian's tpm2-tools with the shared libraries ldd finds,
# the tss2 device TCTI, the virtio modules for the data disk, /dev/console and /init.
# Everything lands in tests/guest/cache/ (gitignored): the kernel keyed by package and version,
# the initramfs by the kernel version and a hash of every file put into it, so a second run
# costs a hash of ~15 MB. Building needs root (mknod for /dev/console).
# shellcheck shell=dash # dash (Debian /bin/sh) and busybox ash both have `local`
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VTPM_GUEST_CACHE:-$HERE/cache}
META=${VTPM_GUEST_KERNEL_META:-linux-image-cloud-amd64}
MODULES="virtio_blk virtio_pci"
LIBDIR=/lib/x86_64-linux-gnu

die() {
    echo "guest build: $*" >&2
    exit 1
}

for tool in apt-cache apt-get dpkg-deb cpio gzip ldd sha256sum flock; do
    command -v "$tool" >/dev/null 2>&1 || die "cannot build the guest: '$tool' is not installed."
done
[ -x /bin/busybox ] || die "cannot build the guest: /bin/busybox is missing (busybox-static)."
/bin/busybox --list | grep -qx ash ||
    die "cannot build the guest: /bin/busybox has no ash applet."
TPM2=$(command -v tpm2) || die "cannot build the guest: 'tpm2' is missing (tpm2-tools)."
TCTI=$LIBDIR/libtss2-tcti-device.so.0
[ -e "$TCTI" ] || die "cannot build the guest: $TCTI is missing (libtss2-tcti-device0)."
[ "$(id -u)" -eq 0 ] || die "cannot build the initramfs as a normal user: /dev/console needs mknod."

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 600 9 || die "another build holds $CACHE/.lock for more than 10 minutes; giving up."

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vtpm-guest-build.XXXXXX")
trap 'rm -rf "$TMP" "${kdir:-$TMP}.new" "${initrd:-$TMP}.new"' EXIT
trap 'exit 130' INT TERM HUP

# ---- kernel --------------------------------------------------------------------------------

# The package: the meta-package's dependency in its candidate (newest) version, unless told.
kernel_pkg() {
    if [ -n "${VTPM_GUEST_KERNEL_PKG:-}" ]; then
        echo "$VTPM_GUEST_KERNEL_PKG"
        return
    fi
    apt-cache depends "$META" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1
}

# The newest kernel already in the cache, for machines whose apt lists are gone.
cached_kernel() {
    ls -d "$CACHE"/kernel-*/ 2>/dev/null | while read -r d; do
        [ -s "$d/vmlinuz" ] && [ -e "$d/modules.order" ] && echo "${d%/}"
    done | sort -V | tail -n 1
}

# Print the modules a .ko needs (the depends= entry of its .modinfo section).
ko_depends() {
    tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# Copy module $1 and, first, everything it depends on, appending each name to modules.order
# once, so that loading the list top to bottom satisfies every dependency.
# Modules may be compressed (Debian's 6.12 kernels use .ko.xz): they are stored uncompressed,
# which every kernel loads, so the guest's busybox insmod needs no decompressor.
add_module() {
    local name dashed ko dep
    name=$(echo "$1" | tr '-' '_')
    dashed=$(echo "$name" | tr '_' '-')
    grep -qx "$name" "$knew/modules.order" 2>/dev/null && return 0
    # Built into this kernel (Debian's 6.12 has virtio_pci built in): nothing to load.
    grep -qE "/($name|$dashed)\.ko\$" "$TMP"/x/lib/modules/*/modules.builtin 2>/dev/null &&
        return 0
    ko=$(find "$TMP/x/lib/modules" \( -name "$name.ko*" -o -name "$dashed.ko*" \) | head -n 1)
    case $ko in
    *.ko) cp "$ko" "$knew/modules/$name.ko" ;;
    *.ko.xz) xz -dc "$ko" >"$knew/modules/$name.ko" ;;
    *.ko.gz) gzip -dc "$ko" >"$knew/modules/$name.ko" ;;
    *.ko.zst) zstd -qdc "$ko" >"$knew/modules/$name.ko" ;;
    *) die "kernel package $pkg has no module $name.ko (or .ko.xz, .ko.gz, .ko.zst)." ;;
    esac || die "cannot decompress $ko."
    for dep in $(ko_depends "$knew/modules/$name.ko"); do
        add_module "$dep"
    done
    echo "$name" >>"$knew/modules.order"
}

pkg=$(kernel_pkg)
version=""
if [ -n "$pkg" ]; then
    version=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ "$version" = "(none)" ] && version=""
fi
if [ -n "$pkg" ] && [ -n "$version" ]; then
    kdir=$CACHE/kernel-${pkg}_$version
    if [ ! -s "$kdir/vmlinuz" ] || [ ! -e "$kdir/modules.order" ]; then
        echo "guest build: downloading $pkg $version with apt-get" >&2
        (cd "$TMP" && timeout --kill-after=10 600 apt-get download -q \
            -o APT::Sandbox::User=root "$pkg=$version" >&2) ||
            die "apt-get download $pkg=$version failed (no access to the Debian mirror?)."
        deb=$(ls "$TMP"/*.deb)
        dpkg-deb -x "$deb" "$TMP/x" || die "dpkg-deb could not unpack $deb."
        # Assembled in $TMP, then moved into the cache in one rename: a failed or interrupted
        # build leaves no half-made kernel directory behind.
        knew=$TMP/kernel
        mkdir -p "$knew/modules"
        cp "$TMP"/x/boot/vmlinuz-* "$knew/vmlinuz" || die "$pkg has no /boot/vmlinuz-*."
        cp "$TMP"/x/boot/config-* "$knew/config" 2>/dev/null || true
        : >"$knew/modules.order"
        for m in $MODULES; do
            add_module "$m"
        done
        rm -rf "$TMP/x" "$deb" "$kdir.new" "$kdir"
        cp -a "$knew" "$kdir.new" && mv "$kdir.new" "$kdir" || die "cannot write $kdir."
    fi
else
    kdir=$(cached_kernel)
    [ -n "$kdir" ] || die "no $META in the apt lists and no kernel in $CACHE (run apt-get update)."
    echo "guest build: apt lists name no kernel; using the cached $(basename "$kdir")" >&2
fi
kver=$(basename "$kdir" | sed 's/^kernel-linux-image-//')

# ---- initramfs -----------------------------------------------------------------------------

# Every input file, one per line, as "source destination-in-guest".
manifest() {
    echo "/bin/busybox /bin/busybox"
    echo "$HERE/init.sh /init"
    echo "$TPM2 /usr/bin/tpm2"
    echo "$TCTI $TCTI"
    { ldd "$TPM2"; ldd "$TCTI"; } | awk '
        $2 == "=>" && $3 ~ /^\// { print $3 }
        $1 ~ /^\// { print $1 }' | sort -u | while read -r lib; do
        echo "$lib $lib"
    done
    echo "$kdir/modules.order /lib/modules/order"
    while read -r m; do
        echo "$kdir/modules/$m.ko /lib/modules/$m.ko"
    done <"$kdir/modules.order"
}

manifest >"$TMP/manifest"
while read -r src dst; do
    [ -r "$src" ] || die "cannot read $src for the initramfs."
done <"$TMP/manifest"
# The key covers the bytes of every input and where each one goes in the guest.
key=$(while read -r src dst; do
    echo "$dst $(sha256sum <"$src" | cut -c1-64)"
done <"$TMP/manifest" | sha256sum | cut -c1-16)
initrd=$CACHE/initramfs-$kver-$key.cpio.gz

if [ ! -s "$initrd" ]; then
    root=$TMP/root
    mkdir -p "$root"
    for d in bin sbin usr/bin usr/sbin lib64 dev proc sys tmp data etc; do
        mkdir -p "$root/$d"
    done
    while read -r src dst; do
        mkdir -p "$root$(dirname "$dst")"
        cp -L "$src" "$root$dst"
    done <"$TMP/manifest"
    chmod 0755 "$root/init"
    for applet in $(/bin/busybox --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    mknod "$root/dev/console" c 5 1
    chmod 0600 "$root/dev/console"
    # Same inputs, same bytes: fixed times, owners and inode numbers, sorted names.
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . | LC_ALL=C sort | cpio --quiet --reproducible -o -H newc -R 0:0) |
        gzip -n -6 >"$initrd.new" || die "cpio or gzip failed while writing $initrd."
    mv "$initrd.new" "$initrd"
    # Older initramfs images for this kernel were built from other inputs: drop them.
    for old in "$CACHE/initramfs-$kver-"*.cpio.gz; do
        [ "$old" = "$initrd" ] || rm -f "$old"
    done
    echo "guest build: wrote $(basename "$initrd") ($(du -k "$initrd" | cut -f1) KiB)" >&2
fi

echo "VTPM_GUEST_KERNEL=$kdir/vmlinuz"
echo "VTPM_GUEST_INITRD=$initrd"
