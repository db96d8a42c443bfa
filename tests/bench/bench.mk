# SPDX-License-Identifier: MIT
#
# make bench        the pipeline against its own primitives, same run (tests/bench/README.md);
#                   the table goes to tests/bench/results/<date>-<host>.md and stdout;
#                   BENCH_WORK=DIR puts its databases and backlogs in DIR (default: the
#                   temporary directory), on a board on the filesystem the station seals to
# make bench-short  the same with tiny counts (seconds): proves the benchmark runs, asserts no
#                   timings; the table goes to $(BUILD)/bench/ (not into the source tree)
#
# Included by the top-level Makefile after its rules (it uses $(BUILD), $(LIB), $(LDLIBS)).

BENCH_BIN := $(BUILD)/bench/sealbench-bench
BENCH_RESULTS ?= tests/bench/results
BENCH_WORK ?=
BENCH_ARGS ?=

.PHONY: bench bench-short

$(BENCH_BIN): $(BUILD)/obj/tests/bench/bench.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(DAEMON) $(TOOLS) $(BENCH_BIN)
	@$(PYTHON) tests/bench/run.py --bin $(BUILD) --bench $(BENCH_BIN) \
		--out $(BENCH_RESULTS) $(if $(BENCH_WORK),--work $(BENCH_WORK)) $(BENCH_ARGS)

bench-short: $(DAEMON) $(TOOLS) $(BENCH_BIN)
	@$(PYTHON) tests/bench/run.py --short --bin $(BUILD) --bench $(BENCH_BIN) \
		--out $(BUILD)/bench $(if $(BENCH_WORK),--work $(BENCH_WORK)) $(BENCH_ARGS)
