#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run cross-built cmocka unit tests under qemu-user (issue 8): alignment, endianness-agnostic
# code and `char` signedness (unsigned on aarch64) get exercised on the target's instruction set.
#
# Usage: mk/run-qemu-tests.sh ARCH BUILD QEMU_LD_PREFIX test_binary...
#
# - qemu-user cannot exec a target binary from a target binary without binfmt_misc, so the
#   tools that tests start (sealbench-sim, sealbench-devices) are wrapped in small scripts that
#   run them under qemu too, named through the tests' own SEALBENCH_SIM / SEALBENCH_DEVICES.
#   (Debian 12's qemu-user 7.2 on this kernel hangs in a forked child before it gets to exec,
#   so the tests that fork are in QEMU_SKIP for now; the wrappers are ready for a fixed qemu.)
# - As root, test_outbox forks a child to drop privileges (that fork hangs); nothing here
#   needs root, so as root the tests run as nobody and take the unprivileged path.
# - Each test is bounded by QEMU_TEST_TIMEOUT seconds (default 300).
# - QEMU_SKIP (space separated basenames) lists tests that exercise kernel interfaces which
#   qemu-user does not emulate; each is printed with the reason, never passed silently.
#
# Prints one "N passed, N failed" line; exit status 1 if any test failed.
set -u
arch=$1 build=$2 prefix=$3
shift 3

case $arch in
arm64) qemu=qemu-aarch64 ;;
amd64) qemu=qemu-x86_64 ;;
*) echo "run-qemu-tests: unknown ARCH $arch" >&2; exit 2 ;;
esac
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "run-qemu-tests: $qemu not found: make deps ARCH=$arch" >&2
	exit 1
fi
timeout_s=${QEMU_TEST_TIMEOUT:-300}

# Reasons for the tests that cannot run under qemu-user (basename: reason).
skip_reason() {
	case $1 in
	test_usb) echo "libusb's event handling hangs under qemu-user (no usbfs emulation)" ;;
	test_camera) echo "qemu-user does not emulate the V4L2 ioctls (ENOSYS instead of ENOTTY)" ;;
	test_scanner) echo "qemu-user does not emulate the evdev ioctls (ENOSYS instead of ENOTTY)" ;;
	test_devices | test_drivers) echo "starts a tool from a forked child: qemu-user 7.2's forked child hangs before exec" ;;
	test_mqtt | test_tls) echo "starts mosquitto from a forked child: qemu-user 7.2's forked child hangs before exec" ;;
	*) echo "listed in QEMU_SKIP" ;;
	esac
}
QEMU_SKIP=${QEMU_SKIP-test_usb test_camera test_scanner test_devices test_drivers test_mqtt test_tls}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
chmod 0755 "$work"
mkdir -m 1777 "$work/tmp"
mkdir "$work/bin"
absbuild=$(cd "$build" && pwd)
for tool in "$absbuild"/sealbench-*; do
	[ -x "$tool" ] || continue
	cat > "$work/bin/${tool##*/}" <<EOF
#!/bin/sh
exec $qemu -L $prefix $tool "\$@"
EOF
	chmod 0755 "$work/bin/${tool##*/}"
done

runas=
if [ "$(id -u)" = 0 ]; then
	runas="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi

pass=0 fail=0 skipped=0 failed=
for t in "$@"; do
	name=${t##*/}
	case " $QEMU_SKIP " in
	*" $name "*)
		echo "SKIP: $name under $qemu: $(skip_reason "$name")"
		skipped=$((skipped + 1))
		continue
		;;
	esac
	echo "=== $arch $name"
	if env TMPDIR="$work/tmp" SEALBENCH_SIM="$work/bin/sealbench-sim" \
		SEALBENCH_DEVICES="$work/bin/sealbench-devices" \
		timeout -k 5 "$timeout_s" $runas "$qemu" -L "$prefix" "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $name"
	fi
done
[ -n "$failed" ] && echo "$arch unit (qemu): failing:$failed"
echo "$arch unit (qemu): $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
