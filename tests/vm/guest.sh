#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM (started by tests/vm/vm-test.sh through tests/vm/run.sh): loads the
# simulator modules (nothing auto-loads: there is no udev in the guest) and runs the device
# checks of BUILD_DIR/vm/vm-check. Every check line (PASS/FAIL name: detail) also goes to
# $VM_OUT/results for the host. Then the full-daemon run (tests/vm/e2e.py).
#
# Usage: tests/vm/guest.sh BUILD_DIR
set -u
build=${1:-build}
res=${VM_OUT:-/tmp}/results
: >"$res"
fail=0

line() {
	echo "$*"
	echo "$*" >>"$res"
}

load() {
	# modprobe prints nothing on success; its message is the reason on failure.
	if msg=$(modprobe "$@" 2>&1); then
		return 0
	fi
	line "FAIL modules.$1: modprobe $*: $msg"
	fail=$((fail + 1))
	return 1
}

# Scanner and badge: uinput keyboards, read through evdev.
load evdev && load uinput && checks="scanner badge"
# Cameras: three vivid instances and a v4l2loopback node (vm_check.c "camera"):
#   000: capture node, vivid's default four inputs (0 = webcam, colour bars)
#   001: capture (one HDMI input) + output (one HDMI output), for the loopback injection
#   002: capture, webcam input, for the Disconnect (unplug) check
#   v4l2loopback "sealbench-vm-mjpeg": MJPEG frames written by the check (built by prepare.sh)
load vivid n_devs=3 node_types=0x1,0x101,0x1 num_inputs=4,1,1 input_types=0xe4,0x3,0x0 \
	num_outputs=1,1,1 output_types=0x0,0x1,0x0 &&
	load v4l2loopback devices=1 exclusive_caps=1 max_buffers=4 \
		card_label=sealbench-vm-mjpeg && checks="${checks:-} camera"
# USB: two dummy UDCs (dummy_udc.0: the ACM serial scale, host side cdc_acm; dummy_udc.1:
# the HID POS scale, host side usbhid, read through libusb).
if load configfs && load libcomposite && load dummy_hcd num=2; then
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	load usb_f_acm && load cdc_acm && checks="${checks:-} serial-scale"
	load usb_f_hid && load usbhid && load hid_generic && checks="${checks:-} hid-scale"
fi
# GPIO: gpio-sim, built out of tree by prepare.sh (configfs is loaded above).
load gpio-sim && checks="${checks:-} gpio"
line "PASS modules: $(lsmod | tail -n +2 | wc -l) modules loaded for:${checks:-}"

if [ ! -x "$build/vm/vm-check" ]; then
	line "FAIL vm-check: $build/vm/vm-check not found in the guest"
	exit 1
fi
if [ -n "${checks:-}" ]; then
	# The exit status too: a sanitizer report at exit is a failure without a FAIL line.
	# shellcheck disable=SC2086
	{
		"$build/vm/vm-check" $checks 2>&1
		echo $? >/tmp/vm-check.rc
	} | tee -a "$res"
	st=$(cat /tmp/vm-check.rc)
	[ "$st" = 0 ] || [ "$(grep -c '^FAIL' "$res")" != 0 ] ||
		line "FAIL vm-check: exited with status $st (see the output above)"
	[ "$(grep -c '^FAIL' "$res")" = 0 ] || fail=1
fi

# The full-daemon run needs every device class of boards/vm/board.conf.
has() {
	case " ${checks:-} " in *" $1 "*) return 0 ;; esac
	return 1
}
if has scanner && has camera && has hid-scale && has gpio; then
	{
		/usr/bin/python3 tests/vm/e2e.py --bin "$build" 2>&1
		echo $? >/tmp/vm-e2e.rc
	} | tee -a "$res"
	st=$(cat /tmp/vm-e2e.rc)
	[ "$st" = 0 ] || [ "$(grep -c '^FAIL e2e' "$res")" != 0 ] ||
		line "FAIL e2e: exited with status $st (see the output above)"
	[ "$(grep -c '^FAIL' "$res")" = 0 ] || fail=1
else
	line "FAIL e2e: not run, device classes missing (checks:${checks:-})"
	fail=1
fi
exit "$fail"
