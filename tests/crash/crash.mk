# SPDX-License-Identifier: MIT
#
# The durability suites (tests/crash/README.md). Included by the top-level Makefile after
# $(BUILD), $(LIB), CFLAGS and LDLIBS are set:
#
#   include tests/crash/crash.mk
#
# Each tests/crash/test_<name>.c becomes $(BUILD)/tests/crash_<name>, linked with the crash
# VFS, the shared checks and the library. `make soak` runs every harness 10,000 times.

CRASH_LIB_SRCS := tests/crash/crashvfs.c tests/crash/crashcheck.c
CRASH_SRCS := $(wildcard tests/crash/test_*.c)
CRASH_TESTS := $(CRASH_SRCS:tests/crash/test_%.c=$(BUILD)/tests/crash_%)
SOAK_COUNT ?= 10000

$(BUILD)/tests/crash_%: $(BUILD)/obj/tests/crash/test_%.o $(CRASH_LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: crash soak
crash: $(CRASH_TESTS) all
	@tests/crash/run.sh $(BUILD)

soak: $(CRASH_TESTS) all
	@tests/crash/run.sh $(BUILD) $(SOAK_COUNT)
