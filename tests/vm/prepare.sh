#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Prepare the test VM (tests/vm/README.md): a stock Debian bookworm-backports kernel, the few
# modules the rig needs and an initramfs with static busybox, cached under VM_CACHE.
#
# Idempotent and bounded. A warm cache costs no network and no rebuild: the kernel is kept
# until it is older than VM_KERNEL_MAX_AGE_DAYS (then the ABI is resolved again from the
# linux-image-amd64 metapackage; when the mirror is unreachable the cached kernel is kept),
# the out-of-tree modules (gpio-sim, v4l2loopback) are built once per ABI, and the initramfs
# is rebuilt only when tests/vm/init is newer than it.
#
# Usage: tests/vm/prepare.sh [--refresh]      (VM_CACHE, VM_MIRROR, VM_SUITE from the env)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${VM_CACHE:-$here/cache}
# absolute: apt resolves relative directories against /etc/apt
mkdir -p "$cache" && cache=$(cd "$cache" && pwd)
mirror=${VM_MIRROR:-http://deb.debian.org/debian}
suite=${VM_SUITE:-bookworm-backports}
max_age=${VM_KERNEL_MAX_AGE_DAYS:-14}
refresh=0
[ "${1:-}" = --refresh ] && refresh=1

# Modules the rig loads, by name; their dependencies are added from modinfo.
BOOT_MODULES="9p 9pnet_virtio overlay"
RIG_MODULES="$BOOT_MODULES vivid uinput evdev dummy_hcd libcomposite usb_f_hid usb_f_acm
usb_f_serial usbhid hid_generic cdc_acm configfs"
# gpio-sim is built out of tree (step 3); it needs configfs, kept above.

die() {
	echo "vm-prepare: FAIL: $*" >&2
	exit 1
}

# 1. Host tools: each missing one is a failure (make deps installs them).
for t in qemu-system-x86_64 dpkg-deb apt-get depmod modinfo xz readelf; do
	command -v "$t" >/dev/null 2>&1 ||
		die "$t not found (packages: qemu-system-x86 busybox-static kmod xz-utils; make deps)"
done
busybox=/bin/busybox
[ -x "$busybox" ] || die "/bin/busybox missing (package busybox-static)"
# A dynamically linked busybox cannot run in the initramfs.
if readelf -l "$busybox" | grep -q 'program interpreter'; then
	die "/bin/busybox is dynamically linked (install busybox-static)"
fi

mkdir -p "$cache"
cur=$cache/current

kernel_fresh() {
	[ -f "$cur/ready" ] || return 1
	[ "$refresh" = 0 ] || return 1
	[ -z "$(find "$cur/ready" -mtime +"$max_age" 2>/dev/null)" ]
}

# 2. The kernel: resolve the ABI from the metapackage in a private apt state.
apt_dir=$cache/apt
# Everything apt reads or writes lives under $apt_dir (APT_CONFIG replaces /etc/apt/apt.conf).
write_apt_conf() {
	cat >"$apt_dir/apt.conf" <<CONF
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "$apt_dir/empty";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$apt_dir/empty";
Dir::Etc::Parts "$apt_dir/empty";
Dir::State "$apt_dir/state";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache";
Debug::NoLocking "1";
APT::Sandbox::User "root";
APT::Architectures "amd64";
Acquire::Languages "none";
CONF
}

fetch_kernel() {
	mkdir -p "$apt_dir/empty" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial"
	: >"$apt_dir/state/status"
	write_apt_conf
	export APT_CONFIG="$apt_dir/apt.conf"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
		>"$apt_dir/sources.list"
	echo "vm-prepare: resolving linux-image-amd64 in $suite"
	if ! timeout 180 apt-get -q update >"$apt_dir/update.log" 2>&1; then
		return 1
	fi
	abi_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	[ -n "$abi_pkg" ] || die "cannot resolve linux-image-amd64 in $suite (see $apt_dir/update.log)"
	abi=${abi_pkg#linux-image-}
	kdir=$cache/kernel-$abi
	if [ -f "$kdir/ready" ]; then
		echo "vm-prepare: kernel $abi already prepared"
		touch "$kdir/ready"
		ln -sfn "kernel-$abi" "$cur"
		return 0
	fi
	echo "vm-prepare: downloading $abi_pkg"
	dl=$cache/download
	rm -rf "$dl" "$kdir"
	mkdir -p "$dl"
	(cd "$dl" && timeout 600 apt-get -q download "$abi_pkg" >"$dl/download.log" 2>&1) ||
		die "apt-get download $abi_pkg failed (see $dl/download.log)"
	echo "vm-prepare: extracting"
	x=$dl/x
	dpkg-deb -x "$dl"/linux-image-*.deb "$x"
	mkdir -p "$kdir"
	cp "$x/boot/vmlinuz-$abi" "$kdir/vmlinuz"
	cp "$x/boot/config-$abi" "$kdir/config"
	src=$x/lib/modules/$abi
	[ -d "$src" ] || src=$x/usr/lib/modules/$abi
	[ -d "$src" ] || die "no module tree in $abi_pkg"

	# Dependency closure of the rig's modules (modinfo reads .ko.xz/.ko.zst).
	find "$src/kernel" -name '*.ko*' >"$dl/all"
	want=$RIG_MODULES
	have=
	while [ -n "$want" ]; do
		next=
		for m in $want; do
			case " $have " in *" $m "*) continue ;; esac
			m_=$(echo "$m" | tr - _)
			p=$(grep -E "/($m|$m_|$(echo "$m" | tr _ -))\.ko(\.[a-z]+)?$" "$dl/all" | head -n 1)
			if [ -z "$p" ]; then
				# Built into this kernel: nothing to copy.
				grep -qE "/($m_|$(echo "$m" | tr _ -))\.ko$" "$src/modules.builtin" ||
					die "module $m is neither a module nor built in"
				have="$have $m"
				continue
			fi
			have="$have $m"
			echo "$p" >>"$dl/keep"
			deps=$(modinfo -F depends "$p" | tr , ' ')
			next="$next $deps"
		done
		want=$next
	done
	dst=$kdir/modroot/lib/modules/$abi
	mkdir -p "$dst"
	cp "$src"/modules.builtin* "$src"/modules.order "$dst"/ 2>/dev/null || true
	sort -u "$dl/keep" | while read -r p; do
		rel=${p#"$src"/}
		mkdir -p "$dst/$(dirname "$rel")"
		case $p in
		*.ko.xz) xz -dc "$p" >"$dst/${rel%.xz}" ;;
		*.ko.zst) zstd -qdc "$p" >"$dst/${rel%.zst}" ;;
		*.ko.gz) gzip -dc "$p" >"$dst/${rel%.gz}" ;;
		*) cp "$p" "$dst/$rel" ;;
		esac
	done
	depmod -b "$kdir/modroot" "$abi" || die "depmod -b failed"
	echo "$abi" >"$kdir/abi"
	rm -rf "$dl"
	touch "$kdir/ready"
	ln -sfn "kernel-$abi" "$cur"
	# Backports replaced the ABI: the old kernel is of no further use.
	for d in "$cache"/kernel-*; do
		[ "$d" = "$kdir" ] || rm -rf "$d"
	done
	echo "vm-prepare: kernel $abi: $(du -sh "$kdir" | cut -f1)"
}

if kernel_fresh; then
	echo "vm-prepare: kernel $(cat "$cur/abi") cached"
elif ! fetch_kernel; then
	[ -f "$cur/ready" ] || die "apt-get update failed and no kernel is cached (see $apt_dir/update.log)"
	echo "vm-prepare: mirror unreachable, keeping cached kernel $(cat "$cur/abi")"
fi
abi=$(cat "$cur/abi")
kdir=$cache/kernel-$abi

# 3. Out-of-tree modules, built once per ABI against the matching linux-headers + -common +
# linux-kbuild (the headers Makefile's include pointed at the extracted tree), without BTF
# (no pahole needed); needs the host's gcc-12 and make. Each lands in extra/ and is indexed.
#
# kheaders DIR PKG...: download the headers of $abi plus PKG... into DIR, extract them all
# into DIR/x; prints the headers tree.
kheaders() {
	local b="$1" ver="${abi%-amd64}" h
	shift
	[ -f "$apt_dir/apt.conf" ] || die "no private apt state for out-of-tree modules (prepare.sh --refresh)"
	export APT_CONFIG="$apt_dir/apt.conf"
	command -v x86_64-linux-gnu-gcc-12 >/dev/null 2>&1 || die "gcc-12 missing (build-essential)"
	rm -rf "$b"
	mkdir -p "$b/m"
	(cd "$b" && timeout 600 apt-get -q download "linux-headers-$abi" "linux-headers-$ver-common" \
		"linux-kbuild-$ver" "$@" >"$b/download.log" 2>&1) ||
		die "apt-get download $* (and the $abi headers) failed (see $b/download.log)"
	for d in "$b"/*.deb; do
		dpkg-deb -x "$d" "$b/x"
	done
	h=$b/x/usr/src/linux-headers-$abi
	sed -i "s|^include /usr/src/|include $b/x/usr/src/|" "$h/Makefile"
	echo "$h"
}

# kbuild HEADERS MODDIR KO: build the module in MODDIR, install it as extra/KO.
kbuild() {
	local h="$1" m="$2" ko="$3" dst="$kdir/modroot/lib/modules/$abi/extra"
	timeout 600 make -s -C "$h" M="$m" CONFIG_DEBUG_INFO_BTF_MODULES= modules \
		>"$m/../build.log" 2>&1 || { cp "$m/../build.log" "$cache/build-$ko.log"; \
		die "$ko: build failed (see $cache/build-$ko.log)"; }
	mkdir -p "$dst"
	cp "$m/$ko" "$dst/$ko"
	depmod -b "$kdir/modroot" "$abi" || die "depmod -b failed"
}

# gpio-sim: Debian leaves CONFIG_GPIO_SIM (and CONFIG_IRQ_SIM) unset. gpio-sim.c and
# irq_sim.c from linux-source linked into one module, irq_sim.c's one use of the unexported
# irq_to_desc() replaced by generic_handle_irq().
gsim=$kdir/modroot/lib/modules/$abi/extra/gpio-sim.ko
build_gpio_sim() {
	local src_pkg b h
	export APT_CONFIG="$apt_dir/apt.conf"
	src_pkg=$(apt-cache depends linux-source 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-source-[0-9.]*\)$/\1/p' | head -n 1)
	[ -n "$src_pkg" ] || src_pkg=linux-source-$(echo "$abi" | cut -d. -f1-2)
	b=$cache/gpio-sim.build
	echo "vm-prepare: building gpio-sim ($src_pkg, linux-headers-$abi)"
	h=$(kheaders "$b" "$src_pkg") || exit 1
	tar -xJf "$b"/x/usr/src/linux-source-*.tar.xz -C "$b" --wildcards \
		'*/drivers/gpio/gpio-sim.c' '*/kernel/irq/irq_sim.c' ||
		die "gpio-sim: sources missing from $src_pkg"
	cp "$b"/linux-source-*/drivers/gpio/gpio-sim.c "$b/m/gpio-sim-main.c"
	sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
		"$b"/linux-source-*/kernel/irq/irq_sim.c >"$b/m/irq_sim.c"
	grep -q 'generic_handle_irq(irqnum)' "$b/m/irq_sim.c" ||
		die "gpio-sim: irq_sim.c changed upstream (irq_to_desc use not found)"
	printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >"$b/m/Kbuild"
	kbuild "$h" "$b/m" gpio-sim.ko
	rm -rf "$b"
}
if [ ! -f "$gsim" ]; then
	build_gpio_sim
fi

# v4l2loopback (the MJPEG camera: frames written by a program come out of a capture node
# byte for byte), from the suite's v4l2loopback-dkms source package.
v4lb=$kdir/modroot/lib/modules/$abi/extra/v4l2loopback.ko
build_v4l2loopback() {
	local b h src
	b=$cache/v4l2loopback.build
	echo "vm-prepare: building v4l2loopback (v4l2loopback-dkms, linux-headers-$abi)"
	h=$(kheaders "$b" v4l2loopback-dkms) || exit 1
	src=$(find "$b/x/usr/src" -maxdepth 1 -name 'v4l2loopback-*' | head -n 1)
	if [ -z "$src" ] || [ ! -f "$src/v4l2loopback.c" ]; then
		die "v4l2loopback: no source tree in v4l2loopback-dkms"
	fi
	cp -r "$src"/. "$b/m/"
	kbuild "$h" "$b/m" v4l2loopback.ko
	rm -rf "$b"
}
if [ ! -f "$v4lb" ]; then
	build_v4l2loopback
fi

# 4. The initramfs: busybox, the boot modules in load order, tests/vm/init.
if [ ! -f "$kdir/initramfs.cpio.gz" ] || [ "$here/init" -nt "$kdir/initramfs.cpio.gz" ] ||
	[ "$0" -nt "$kdir/initramfs.cpio.gz" ]; then
	echo "vm-prepare: building the initramfs"
	r=$kdir/initramfs.tmp
	rm -rf "$r"
	mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/mnt/ro" "$r/mnt/rw" "$r/newroot" "$r/lib/mod"
	cp "$busybox" "$r/bin/busybox"
	ln -s busybox "$r/bin/sh"
	cp "$here/init" "$r/init"
	chmod 755 "$r/init"
	# modules.dep lists a module's dependencies: load them first, each once.
	mdir=$kdir/modroot/lib/modules/$abi
	order=
	add_mod() {
		local line d
		line=$(grep -E "(^|/)$1\.ko:" "$mdir/modules.dep") || return 0
		for d in ${line#*:}; do
			add_mod "$(basename "$d" .ko)"
		done
		case " $order " in *" $1 "*) return 0 ;; esac
		order="$order $1"
		cp "$mdir/${line%%:*}" "$r/lib/mod/$1.ko"
	}
	for m in $BOOT_MODULES; do
		add_mod "$m"
	done
	echo "$order" >"$r/lib/mod/order"
	(cd "$r" && find . | sort | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$kdir/initramfs.tmp.gz"
	mv "$kdir/initramfs.tmp.gz" "$kdir/initramfs.cpio.gz"
	rm -rf "$r"
fi
echo "vm-prepare: ready: $kdir (kernel $abi)"
