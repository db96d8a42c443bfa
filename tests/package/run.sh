#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The Debian package, installed for real into a scratch root (issue 8).
#
#   tests/package/run.sh [--deb FILE] [--lower DIR]
#
# Without --deb it runs `make deb` (the build machine's architecture) first. The scratch root
# is an overlay: DIR (default /, i.e. this Debian 12 machine) read-only below, a tmpfs above,
# in a private mount namespace. Everything dpkg, adduser and the daemon write lands in the
# tmpfs and vanishes with the namespace; the machine itself is never changed. No network: with
# the default lower layer the package's Depends are already installed. With --lower pointing
# at a debootstrap minbase chroot (`debootstrap --variant=minbase bookworm DIR`), the Depends
# are installed there with apt-get, which needs the Debian mirror (and, for libgpiod3,
# bookworm-backports in that chroot's sources).
#
# Checks: dpkg -i succeeds; files, owners and modes; conffiles; the sealbench system user and
# group and the unit's supplementary groups; /var/lib/sealbench owned by sealbench, 0750; the
# unit is enabled and `systemd-analyze verify` accepts it; sealbenchd --version; the unit's
# ExecStartPre and ExecStart command lines run as the sealbench user on the default board
# until "ready", and stop on SIGTERM; remove keeps the conffiles and the state; purge removes
# them. Needs root (mount namespaces, chroot). Every wait is bounded.
set -u

deb= lower=/
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$2; shift 2 ;;
	--lower) lower=$2; shift 2 ;;
	*) echo "usage: $0 [--deb FILE] [--lower DIR]" >&2; exit 2 ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "package: needs root (mount namespace + chroot)" >&2
	echo "package: 0 passed, 1 failed"
	exit 1
fi

# ---- outside the namespace: build the package, then re-run this script inside one --------
if [ -z "${SEALBENCH_PKG_INSIDE:-}" ]; then
	here=$(cd "$(dirname "$0")/../.." && pwd)
	if [ -z "$deb" ]; then
		arch=$(dpkg --print-architecture)
		version=$(sed -n 's/^VERSION ?= *//p' "$here/config.mk")
		echo "package: make deb ($version, $arch)"
		make -C "$here" --no-print-directory deb >/tmp/sealbench-pkg-build.$$ 2>&1 || {
			tail -30 /tmp/sealbench-pkg-build.$$
			rm -f /tmp/sealbench-pkg-build.$$
			echo "package: 0 passed, 1 failed"
			exit 1
		}
		rm -f /tmp/sealbench-pkg-build.$$
		deb=$here/build/sealbench_${version}_$arch.deb
	fi
	deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
	[ -f "$deb" ] || { echo "package: no $deb"; echo "package: 0 passed, 1 failed"; exit 1; }
	SEALBENCH_PKG_INSIDE=1 exec timeout -k 10 600 unshare --mount --propagation private \
		"$0" --deb "$deb" --lower "$lower"
fi

# ---- inside the private mount namespace ------------------------------------------------
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check "description" command...
	d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else nok "$d"; fi
}
finish() {
	echo "package: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}

scratch=$(mktemp -d /tmp/sealbench-pkg.XXXXXX)
mount -t tmpfs -o mode=0755 sealbench-pkg "$scratch" || { nok "tmpfs"; finish; }
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/upper,workdir=$scratch/work" \
	"$scratch/root"; then
	nok "overlay of $lower"
	finish
fi
R=$scratch/root
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
cp "$deb" "$R/tmp/sealbench.deb"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
# A stat line "owner:group mode" of a path in the scratch root.
perm() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null; }
is() { [ "$1" = "$2" ]; }

# A machine that already has the package: start from its purge, in the scratch root only.
if in_root dpkg-query -W -f='${Status}' sealbench 2>/dev/null | grep -q 'ok installed\|config-files'; then
	in_root dpkg --purge sealbench >/dev/null 2>&1
fi
user_before=no
in_root getent passwd sealbench >/dev/null && user_before=yes

# ---- install ----------------------------------------------------------------------------
if [ "$lower" != / ]; then
	cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/sealbench.deb' \
		>"$scratch/install.log" 2>&1
else
	in_root dpkg -i /tmp/sealbench.deb >"$scratch/install.log" 2>&1
fi
rc=$?
if [ $rc = 0 ]; then ok "install"; else nok "install (exit $rc)"; cat "$scratch/install.log"; finish; fi
check "dpkg status: installed" sh -c "chroot '$R' dpkg-query -W -f='\${Status}' sealbench | grep -qx 'install ok installed'"
version=$(in_root dpkg-query -W -f='${Version}' sealbench)

# ---- files, owners, modes ----------------------------------------------------------------
for f in /usr/bin/sealbenchd /usr/bin/sealbench-devices /usr/bin/sealbench-verify \
	/usr/bin/sealbench-sink; do
	check "$f root:root 755" is "$(perm $f)" "root:root 755"
done
for f in /etc/sealbench/station.conf /etc/sealbench/dimweight.conf /etc/default/sealbench \
	/lib/systemd/system/sealbenchd.service /lib/udev/rules.d/99-sealbench.rules \
	/usr/share/sealbench/boards/rpi5/board.conf /usr/share/sealbench/boards/x86-bench/board.conf \
	/usr/share/sealbench/boards/sim/board.conf /usr/share/sealbench/schema/evidence.schema.json \
	/usr/share/doc/sealbench/copyright /usr/share/doc/sealbench/README.md \
	/usr/share/doc/sealbench/install.md; do
	check "$f root:root 644" is "$(perm $f)" "root:root 644"
done
here=$(cd "$(dirname "$0")/../.." && pwd)
check "unit installed as is" cmp "$here/firmware/sealbenchd.service" "$R/lib/systemd/system/sealbenchd.service"
check "udev rules installed as is" cmp "$here/firmware/99-sealbench.rules" "$R/lib/udev/rules.d/99-sealbench.rules"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' sealbench | awk '{print $1}' | sort | tr '\n' ' ')
check "conffiles: station.conf dimweight.conf /etc/default/sealbench" is "$conffiles" \
	"/etc/default/sealbench /etc/sealbench/dimweight.conf /etc/sealbench/station.conf "
check "no file is setuid/setgid or world-writable" \
	sh -c "chroot '$R' dpkg -L sealbench | while read -r p; do [ -L \"$R\$p\" ] && continue; find \"$R\$p\" -maxdepth 0 \\( -perm -4000 -o -perm -2000 -o -perm -0002 \\) -print; done | grep -q . && exit 1; exit 0"

# ---- user, groups, state directory -------------------------------------------------------
pw=$(in_root getent passwd sealbench)
uid=$(echo "$pw" | cut -d: -f3)
[ "$user_before" = yes ] && echo "# note: the lower layer already had a sealbench user"
check "sealbench user exists" test -n "$pw"
check "sealbench is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
check "sealbench home /var/lib/sealbench" is "$(echo "$pw" | cut -d: -f6)" /var/lib/sealbench
check "sealbench has no login shell" sh -c "echo '$pw' | cut -d: -f7 | grep -q nologin"
check "sealbench group exists" in_root getent group sealbench
for g in dialout input video gpio plugdev; do
	check "group $g exists (unit SupplementaryGroups)" in_root getent group "$g"
done
check "/var/lib/sealbench sealbench:sealbench 750" is "$(perm /var/lib/sealbench)" "sealbench:sealbench 750"

# ---- the unit ----------------------------------------------------------------------------
check "unit enabled (multi-user.target.wants)" \
	test -L "$R/etc/systemd/system/multi-user.target.wants/sealbenchd.service"
if ! in_root sh -c 'command -v systemd-analyze' >/dev/null; then
	echo "SKIP: systemd-analyze verify: no systemd in the scratch root (minbase)"
elif in_root systemd-analyze verify /lib/systemd/system/sealbenchd.service >"$scratch/verify.log" 2>&1; then
	ok "systemd-analyze verify sealbenchd.service"
else
	nok "systemd-analyze verify sealbenchd.service"
	cat "$scratch/verify.log"
fi
check "sealbenchd --version names $version and the build" \
	sh -c "chroot '$R' sealbenchd --version | grep -q '^sealbenchd $version (git .*, built '"

# ---- start: the unit's command lines, as its user, on the default board ------------------
board=$(in_root sh -c '. /etc/default/sealbench && echo "$SEALBENCH_BOARD"')
check "default board exists ($board)" test -f "$R$board"
as_user() { in_root setpriv --reuid=sealbench --regid=sealbench --init-groups "$@"; }
check "ExecStartPre (--check) as sealbench" as_user sealbenchd --check --board "$board" \
	--config /etc/sealbench/station.conf
# No systemd in the scratch root: make what the unit's "RuntimeDirectory=sealbench
# sealbench/sim" makes (sim/ holds the sim board's FIFOs), after checking the unit says so.
check "unit creates the run directories" grep -q '^RuntimeDirectory=sealbench sealbench/sim$' \
	"$R/lib/systemd/system/sealbenchd.service"
install -d -o "$uid" -m 0750 "$R/run/sealbench"
case $board in */boards/sim/*) install -d -o "$uid" -m 0750 "$R/run/sealbench/sim" ;; esac
mkfifo "$scratch/log"
# The unit's ExecStart, bounded by timeout; chroot, env and setpriv exec, so a signal to
# timeout reaches sealbenchd.
timeout -k 5 120 chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
	setpriv --reuid=sealbench --regid=sealbench --init-groups \
	sealbenchd --board "$board" --config /etc/sealbench/station.conf --run-dir /run/sealbench \
	2>"$scratch/log" &
daemon=$!
exec 3<"$scratch/log" # held open until the end: the daemon never writes to a closed pipe
# Read the daemon's log line by line (read takes no more than a line) until "ready"; bounded:
# timeout ends the reader.
if timeout 30 sh -c 'while IFS= read -r l; do echo "$l" >>"$1"; case $l in *"ready: outbox"*)
	echo "$l" >"$2"; exit 0 ;; esac; done; exit 1' sh "$scratch/daemon.log" "$scratch/ready" <&3; then
	ok "sealbenchd starts as sealbench: $(cat "$scratch/ready")"
else
	nok "sealbenchd did not report ready within 30 s"
fi
cat <&3 >>"$scratch/daemon.log" &
drain=$!
exec 3<&-
if [ ! -s "$scratch/ready" ]; then
	kill -TERM $daemon 2>/dev/null
	wait $drain
	cat "$scratch/daemon.log"
fi
check "outbox created in /var/lib/sealbench, owned by sealbench" \
	is "$(perm /var/lib/sealbench/outbox.db | cut -d' ' -f1)" "sealbench:sealbench"
check "station key generated, sealbench 600" \
	is "$(perm /var/lib/sealbench/station.key)" "sealbench:sealbench 600"
kill -TERM $daemon 2>/dev/null
wait $daemon
rc=$?
check "sealbenchd exits 0 on SIGTERM" test "$rc" = 0
[ "$rc" = 0 ] || cat "$scratch/daemon.log"
wait $drain

# ---- remove, purge -----------------------------------------------------------------------
check "remove" in_root dpkg --remove sealbench
check "remove: binaries gone" test ! -e "$R/usr/bin/sealbenchd"
check "remove: conffiles kept" test -f "$R/etc/sealbench/station.conf"
check "remove: state kept" test -f "$R/var/lib/sealbench/outbox.db"
check "purge" in_root dpkg --purge sealbench
check "purge: /etc/sealbench gone" test ! -e "$R/etc/sealbench"
check "purge: /etc/default/sealbench gone" test ! -e "$R/etc/default/sealbench"
check "purge: /var/lib/sealbench gone" test ! -e "$R/var/lib/sealbench"
check "purge: unit no longer enabled" \
	test ! -e "$R/etc/systemd/system/multi-user.target.wants/sealbenchd.service"
check "purge: dpkg knows nothing of it" \
	sh -c "! chroot '$R' dpkg-query -W -f='\${Status}' sealbench 2>/dev/null | grep -q installed"
finish
