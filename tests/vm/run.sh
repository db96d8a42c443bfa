#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Boot the test VM (prepared by tests/vm/prepare.sh) and run one command in it, with the
# host's root filesystem read-only under a tmpfs overlay and the current directory as the
# working directory. OUT_DIR is the writable results share (/vm-out in the guest, $VM_OUT);
# the guest's console goes to OUT_DIR/console.log and the command's exit status to OUT_DIR/rc.
# This script waits for qemu to exit (the guest powers off after the command) and exits with
# the command's status; 124 when the VM did not finish within TIMEOUT seconds.
#
# KVM is used when /dev/kvm is usable (qemu falls back to TCG when it is not).
#
# Usage: tests/vm/run.sh [-t TIMEOUT] [-v] OUT_DIR COMMAND [ARG]...
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${VM_CACHE:-$here/cache}
# absolute: apt resolves relative directories against /etc/apt
mkdir -p "$cache" && cache=$(cd "$cache" && pwd)
tmo=120
verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	-t) tmo=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "usage: $0 [-t TIMEOUT] [-v] OUT_DIR COMMAND [ARG]..." >&2; exit 2; }
out=$1
shift
kdir=$cache/current
if [ ! -f "$kdir/ready" ] || [ ! -f "$kdir/initramfs.cpio.gz" ]; then
	echo "vm: FAIL: the VM is not prepared (make vm-prepare)" >&2
	exit 1
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || {
	echo "vm: FAIL: qemu-system-x86_64 not found (package qemu-system-x86; make deps)" >&2
	exit 1
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc" "$out/console.log" "$out/cmd"
abi=$(cat "$kdir/abi")

accel="-accel tcg"
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ "${VM_ACCEL:-}" != tcg ]; then
	accel="-accel kvm -accel tcg"
fi

# The command travels as a script on the results share, so its arguments keep their quoting
# (the kernel command line would split them).
{
	printf 'exec'
	for a in "$@"; do
		printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
	echo
} >"$out/cmd"

# A quiet kernel: the console carries the command's output. panic=-1 turns a panic into a
# reboot, which -no-reboot turns into a qemu exit.
append="console=ttyS0 quiet loglevel=3 panic=-1 sb.mod=$(cd "$kdir/modroot/lib/modules/$abi" && pwd -P) sb.cwd=$(pwd -P) -- /bin/sh /vm-out/cmd"

boot() {
	rc=0
	# shellcheck disable=SC2086
	timeout -k 5 "$tmo" qemu-system-x86_64 $1 -cpu max -m 1024 -smp 2 -nodefaults -no-reboot \
		-display none -monitor none -serial stdio -nic none \
		-kernel "$kdir/vmlinuz" -initrd "$kdir/initramfs.cpio.gz" -append "$append" \
		-virtfs local,id=hostroot,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,id=vmout,path="$out",mount_tag=vmout,security_model=none,multidevs=remap \
		</dev/null >"$out/console.log" 2>&1 || rc=$?
}
boot "$accel"
# A KVM that opens but cannot run a guest (nested virtualisation) makes qemu abort at once,
# before the guest ran: then TCG. A guest that crashed exits qemu with 0 (-no-reboot).
if [ "$accel" != "-accel tcg" ] && [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] &&
	[ ! -f "$out/rc" ]; then
	echo "vm: KVM unusable ($(head -n 1 "$out/console.log")), using TCG" >&2
	boot "-accel tcg"
fi
[ "$verbose" = 1 ] && cat "$out/console.log"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "vm: FAIL: the VM did not finish within $tmo s (console: $out/console.log)" >&2
	exit 124
fi
if [ ! -f "$out/rc" ]; then
	echo "vm: FAIL: the VM stopped without a result (qemu status $rc; console: $out/console.log)" >&2
	tail -n 20 "$out/console.log" >&2
	exit 1
fi
exit "$(cat "$out/rc")"
