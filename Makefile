# SPDX-License-Identifier: MIT
#
# sealbench build. Plain make + pkg-config (mosquitto style), switches in config.mk.
#
#   make                 daemon + tools into build/
#   make deps            install the Debian packages (idempotent; needs root or sudo)
#   make test            everything: gcc build, clang ASan+UBSan build, unit + integration
#   make run             the station on the sim board with a private broker and the sink
#   make demo PACKAGES=N non-interactive demo, prints "N sealed, N delivered, 0 lost"
#   make fuzz            each libFuzzer target briefly (fuzz-long: for hours)
#   make regress         recorded device traffic vs golden outputs (makeregress: regenerate)
#   make soak            the durability harnesses (power cuts, faults, kills) 10,000 times each
#   make bench           benchmarks vs same-run baselines -> tests/bench/results/<date>-<host>.md
#                        BENCH_WORK=DIR: its files on the disk a station seals to (a board)
#   make vm-test         every driver against real kernel devices in a qemu VM (tests/vm/)
#   make deb [ARCH=arm64] the Debian package; make ARCH=arm64 / make test-arm64: cross build, qemu
#   make clean

include config.mk
# ARCH=arm64: cross compiler, target pkg-config, BUILD=build-arm64, qemu runner (issue 8).
include mk/cross.mk

BUILD ?= build
PACKAGES ?= 10
# Debian's python3 (it has python3-jsonschema); a pyenv python on PATH would not.
PYTHON ?= /usr/bin/python3

PKGS := sqlite3 libmosquitto libcjson inih libturbojpeg libcrypto
ifeq ($(WITH_LIBGPIOD2),1)
PKGS += libgpiod
DEFS += -DWITH_LIBGPIOD2=1
endif
ifeq ($(WITH_LIBUSB),1)
PKGS += libusb-1.0
DEFS += -DWITH_LIBUSB=1
endif
# sd_notify (READY, WATCHDOG, STOPPING) for the systemd unit: WITH_SYSTEMD
include firmware/systemd.mk

# V=1 shows the full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DEFS += -DSEALBENCH_VERSION='"$(VERSION)"' -DSEALBENCH_GIT='"$(GIT_REV)"'

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wpointer-arith -Wundef -Wnull-dereference -Wimplicit-fallthrough
OPT ?= -O2
CFLAGS ?= $(OPT) -g
CFLAGS += -std=gnu11 $(WARN) -fno-strict-aliasing -D_GNU_SOURCE -I. $(DEFS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm

ifeq ($(WITH_SANITIZERS),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# libFuzzer (clang): instrument everything, link the fuzzer's main only into fuzz targets.
ifeq ($(WITH_FUZZER),1)
CFLAGS += -fsanitize=fuzzer-no-link
endif

LIB_SRCS ?= $(sort $(wildcard hal/*.c drivers/*/*.c src/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libsealbench.a

TOOL_COMMON := $(wildcard tools/common.c)
TOOL_SRCS := $(wildcard tools/sealbench-*.c)
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HARNESS_SRCS := $(wildcard tests/harness/*.c)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 15

DAEMON := $(BUILD)/sealbenchd

.PHONY: all deps test unit integration check-layers run demo clean format help fuzz fuzz-long \
	fuzz-build regress makeregress
all: $(DAEMON) $(TOOLS)

help:
	@sed -n '3,17p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@ARCH=$(ARCH) tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(DAEMON): $(BUILD)/obj/firmware/sealbenchd.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sealbench-%: $(BUILD)/obj/tools/sealbench-%.o $(TOOL_COMMON:%.c=$(BUILD)/obj/%.o) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(HARNESS_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/obj/tests/%.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags cmocka)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS)

# Each libFuzzer target runs FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/<name>/, read
# only: new inputs go to a temporary directory). make test runs them briefly; fuzz-long for hours.
fuzz:
	$(MAKE) CC=clang WITH_SANITIZERS=1 WITH_FUZZER=1 BUILD=build-fuzz OPT=-O1 fuzz-build
	@tests/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-3600}

unit: $(UNIT_TESTS)
	@tests/run-unit.sh $(BUILD) $(UNIT_TESTS)

integration: all
	@$(PYTHON) tests/integration/run.py --bin $(BUILD)

# Recorded device traffic decoded and diffed against the golden outputs (tests/data/*/*.chk).
regress: all
	@tests/regress.sh $(BUILD)

makeregress: all
	@tests/regress.sh --make $(BUILD)

# Drivers may use hal/ only; src/ sees drivers only through class headers; hal/ sees nothing of ours.
check-layers:
	@tests/check-layers.sh

# make test: a gcc build of everything (warnings as errors), then a clang ASan+UBSan build
# in which the unit and integration suites run.
ifeq ($(CROSS),1)
# make test ARCH=arm64: the unit tests under qemu-user (mk/cross.mk).
test: test-cross
else
test: deps deps-arm64
	$(MAKE) all
	$(MAKE) CC=clang WITH_SANITIZERS=1 BUILD=build-asan OPT=-O1 all $(UNIT_TESTS:$(BUILD)/%=build-asan/%) \
		$(CRASH_TESTS:$(BUILD)/%=build-asan/%) build-asan/bench/sealbench-bench \
		build-asan/vm/vm-check
	@tests/check-layers.sh
	$(MAKE) fuzz
	$(MAKE) vm-prepare
	@tests/run-all.sh build-asan
endif

run: deps all
	@$(PYTHON) tools/sealbench-run --bin $(BUILD)

demo: deps all
	@$(PYTHON) tools/sealbench-run --bin $(BUILD) --demo --packages $(PACKAGES)

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-arm64 run

include tests/crash/crash.mk
include tests/bench/bench.mk
include tests/vm/vm.mk
# make deb: the Debian package (issue 8).
include mk/deb.mk

# Keep the object files of tools and tests (make would delete them as intermediates).
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
