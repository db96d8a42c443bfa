# SPDX-License-Identifier: MIT
#
# Cross building for the boards (issue 8). Included by the top-level Makefile right after
# config.mk, before BUILD, CFLAGS and the pkg-config calls are computed.
#
#   make ARCH=arm64              daemon, tools and unit tests for aarch64 in build-arm64/
#   make test ARCH=arm64         the unit tests (build-arm64/tests/test_*) under qemu-aarch64
#   make test-arm64              the same, from any build (run-all.sh's "arm64" suite)
#   make deps ARCH=arm64         the cross toolchain, the :arm64 -dev packages and qemu-user
#
# Debian's way: the cross gcc (crossbuild-essential-arm64) with the multiarch -dev packages
# (libsqlite3-dev:arm64 ...), whose .pc files are in /usr/lib/aarch64-linux-gnu/pkgconfig.
# Their -I/-L paths are the ordinary multiarch ones, so no sysroot is needed. ARCH equal to
# the build machine's architecture (or empty) is a native build: on a Raspberry Pi,
# `make ARCH=arm64` is just `make`.
#
# Variables the rest of the build uses:
#   PKG_CONFIG   pkg-config for the target (use $(PKG_CONFIG), never a bare pkg-config)
#   CROSS        1 when building for another architecture than the build machine's
#   TEST_RUNNER  prefix for running a target binary on the build machine ("" when native)
#   BUILD        defaults to build-$(ARCH) when cross building (set before the Makefile's
#                BUILD ?= build)

# The Debian architecture of this machine (amd64, arm64, ...).
BUILD_ARCH := $(shell dpkg --print-architecture 2>/dev/null || uname -m)
ARCH ?=
PKG_CONFIG ?= pkg-config
CROSS := 0
TEST_RUNNER :=

# Debian architecture -> GNU triplet and qemu-user binary. Add a row per supported target.
CROSS_TRIPLET_arm64 := aarch64-linux-gnu
CROSS_QEMU_arm64 := qemu-aarch64
CROSS_TRIPLET_amd64 := x86_64-linux-gnu
CROSS_QEMU_amd64 := qemu-x86_64

ifneq ($(ARCH),)
ifneq ($(ARCH),$(BUILD_ARCH))
CROSS_TRIPLET := $(CROSS_TRIPLET_$(ARCH))
ifeq ($(CROSS_TRIPLET),)
$(error ARCH=$(ARCH): unknown architecture (supported: arm64, amd64))
endif
CROSS := 1
# A CC or AR given on the command line or in the environment wins (e.g. a newer cross gcc).
ifeq ($(origin CC),default)
CC := $(CROSS_TRIPLET)-gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_TRIPLET)-ar
endif
# Only the target's .pc files: a build machine's library must never leak into the link.
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLET)/pkgconfig:/usr/share/pkgconfig \
	PKG_CONFIG_PATH= pkg-config
BUILD ?= build-$(ARCH)
# Target programs (unit tests) run under qemu-user. The multiarch libc6:$(ARCH) that the
# -dev:$(ARCH) packages pull in provides the dynamic loader at its usual path, and the
# libraries are in /usr/lib/$(CROSS_TRIPLET); QEMU_LD_PREFIX points at the cross toolchain's
# libc for a machine that only has that one (qemu tries the prefix first, then /).
QEMU_LD_PREFIX ?= /usr/$(CROSS_TRIPLET)
TEST_RUNNER := $(CROSS_QEMU_$(ARCH)) -L $(QEMU_LD_PREFIX)
endif
endif

# Unit tests for arm64 under qemu: build them into build-arm64 (a sub-make, so this works from
# any build) and run each with the qemu prefix. Not the integration suites: those start
# mosquitto and the daemon and test the host's plumbing, not the target's code generation.
ARM64_BUILD ?= build-arm64
.PHONY: test-arm64 test-cross deps-arm64
test-arm64:
ifeq ($(BUILD_ARCH),arm64)
	@echo "test-arm64: this machine is arm64: make test runs the tests natively"
else
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) ARCH=arm64 BUILD=$(ARM64_BUILD) test-cross
endif

# What test-arm64 needs (make test depends on it; a no-op when all is installed).
deps-arm64:
	@ARCH=arm64 tools/deps.sh

# Runs in the cross sub-make (ARCH set): build the unit tests, then run them under qemu.
test-cross:
ifeq ($(CROSS),1)
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) all $(UNIT_TESTS)
	@mk/run-qemu-tests.sh $(ARCH) $(BUILD) $(QEMU_LD_PREFIX) $(UNIT_TESTS)
else
	$(error test-cross: ARCH=$(ARCH) is this machine's architecture; use make test)
endif
