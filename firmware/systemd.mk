# SPDX-License-Identifier: MIT
# sd_notify() for sealbenchd (Type=notify, READY/WATCHDOG/STOPPING) through libsystemd.
# Include from the top-level Makefile anywhere after `include config.mk` (PKGS and DEFS are
# expanded late, at use). On by default like the other WITH_* switches (make deps installs
# libsystemd-dev); WITH_SYSTEMD=0 builds without it on purpose: the notifications are no-ops.
WITH_SYSTEMD ?= 1
ifeq ($(WITH_SYSTEMD),1)
PKGS += libsystemd
DEFS += -DWITH_SYSTEMD=1
endif
