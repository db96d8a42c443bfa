# SPDX-License-Identifier: MIT
#
# The test VM (tests/vm/README.md). Included by the top-level Makefile after $(BUILD), $(LIB),
# CFLAGS and LDLIBS are set:
#
#   include tests/vm/vm.mk
#
#   make vm-prepare   kernel + modules + initramfs into $(VM_CACHE) (cached; idempotent)
#   make vm-test      boot the VM, run every device check and the full-daemon run against
#                     $(BUILD) (sealbenchd, sealbench-sink, vm/vm-check)

VM_CACHE ?= $(CURDIR)/tests/vm/cache
VM_CHECK := $(BUILD)/vm/vm-check

$(BUILD)/vm/vm-check: $(BUILD)/obj/tests/vm/vm_check.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: vm-prepare vm-test vm-check
vm-check: $(VM_CHECK)

vm-prepare:
	@VM_CACHE=$(VM_CACHE) tests/vm/prepare.sh

vm-test: vm-prepare all $(VM_CHECK)
	@VM_CACHE=$(VM_CACHE) tests/vm/vm-test.sh $(BUILD)
