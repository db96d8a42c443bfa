#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Install the Debian packages that building, testing and the demo need.
# Idempotent: packages already installed are left alone, and apt is only
# called when something is missing. On Debian 12 (bookworm) libgpiod 2.x
# comes from bookworm-backports, which is enabled for that package only
# (backports keeps its default priority of 100, so nothing else is pulled
# from it).
#
# clang's sanitizer and libFuzzer runtimes (libclang-rt-dev) are only a Recommends of
# clang, and we install without recommends: they are listed explicitly.
#
# libsystemd-dev: sd_notify() for sealbenchd under systemd (Type=notify, the watchdog);
# mosquitto-clients and openssl: tests/unit/test_tls.c makes a throw-away PKI with the openssl
# CLI and plays central with mosquitto_pub.
#
# qemu-system-x86, busybox-static, kmod, xz-utils: the test VM (tests/vm/) boots a Debian
# kernel under qemu with a busybox initramfs and depmod'ed modules.
#
# Packaging (make deb, tests/package): debhelper, lintian, dpkg-dev.
#
# ARCH=arm64 (make deps ARCH=arm64) adds what the cross build and its tests need: the arm64
# architecture in dpkg, crossbuild-essential-arm64, the :arm64 -dev packages (multiarch) and
# qemu-user. Without ARCH, or with the machine's own architecture, nothing changes.
#
# Usage: tools/deps.sh            (as root, or through sudo)
#        ARCH=arm64 tools/deps.sh
set -eu

PKGS="build-essential pkg-config clang libclang-rt-dev clang-format
libsqlite3-dev sqlite3 libmosquitto-dev mosquitto mosquitto-clients
libcjson-dev libinih-dev libcmocka-dev libturbojpeg0-dev libssl-dev
libusb-1.0-0-dev python3 python3-jsonschema python3-cryptography
libsystemd-dev openssl
qemu-system-x86 busybox-static kmod xz-utils"

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

. /etc/os-release
GPIOD_PKGS="libgpiod-dev"
GPIOD_SUFFIX=
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
	GPIOD_SUFFIX=/bookworm-backports
	GPIOD_PKGS="libgpiod-dev libgpiod3"
fi

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
# libgpiod must be 2.x: the 1.6 package on bookworm is not enough.
if ! pkg-config --atleast-version=2.0 libgpiod 2>/dev/null; then
	for p in $GPIOD_PKGS; do
		missing="$missing $p$GPIOD_SUFFIX"
	done
fi

# Cross target: the -dev packages for ARCH, co-installed with the native ones (Multi-Arch:
# same, so the same versions as the native ones, which is why libgpiod comes from backports
# here too).
ARCH=${ARCH:-}
NATIVE_ARCH=$(dpkg --print-architecture)
add_arch=
if [ -n "$ARCH" ] && [ "$ARCH" != "$NATIVE_ARCH" ]; then
	case $ARCH in
	arm64) ;;
	*) echo "deps: ARCH=$ARCH is not supported (arm64 is)" >&2; exit 1 ;;
	esac
	dpkg --print-foreign-architectures | grep -qx "$ARCH" || add_arch=$ARCH
	CROSS_PKGS="crossbuild-essential-$ARCH qemu-user"
	for p in libsqlite3-dev libmosquitto-dev libcjson-dev libinih-dev libcmocka-dev \
		libturbojpeg0-dev libssl-dev libusb-1.0-0-dev libsystemd-dev; do
		CROSS_PKGS="$CROSS_PKGS $p:$ARCH"
	done
	for p in $CROSS_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	if ! PKG_CONFIG_LIBDIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH -A"$ARCH")/pkgconfig \
		pkg-config --atleast-version=2.0 libgpiod 2>/dev/null; then
		for p in $GPIOD_PKGS; do
			missing="$missing $p:$ARCH$GPIOD_SUFFIX"
		done
	fi
fi

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ -n "$GPIOD_SUFFIX" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deps: enabling bookworm-backports (used for libgpiod 2.x only)"
	$SUDO sh -c 'cat > /etc/apt/sources.list.d/bookworm-backports.sources' <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

if [ -n "$add_arch" ]; then
	echo "deps: adding the $add_arch architecture to dpkg"
	$SUDO dpkg --add-architecture "$add_arch"
fi

echo "deps: installing$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
