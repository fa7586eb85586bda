# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Mutation testing (issue 13 item 5, docs/mutation.md): tools/mutation.py
# mutates src/mmu, src/pgtable and src/format of HEAD in a copy under /tmp,
# builds each mutant and runs `s2mmu check` and the TAP tests on it.
# Long (77 minutes for the default sample on two busy cores at 2ab5f03; the
# checker's weak-memory and generated runs since make it longer): part of
# make check-long (mk/check.mk), never of .ci/run.  Results in
# $(BUILD)/mutation/result.{json,md}.
#
#   make mutation                     the fixed sample (seed 1, 120 mutants)
#   make mutation MUTATION_MAX=0      every mutant (about 1000: many hours)
#   make mutation MUTATION_ARGS='--min-score 90'   fail below 90 % killed
#   make mutation-list                the sampled mutants, nothing built
#   make mutation-selftest            known answers: killed, equivalent,
#                                     stillborn and survived mutants

MUTATION_SEED ?= 1
MUTATION_MAX  ?= 120
MUTATION_ARGS ?=
MUTATION      := python3 tools/mutation.py --seed $(MUTATION_SEED) --max $(MUTATION_MAX)

.PHONY: mutation mutation-list mutation-selftest

# The long campaign (mk/check.mk) runs the mutation sample last, after its
# checker parts, so a failure of one does not stop the others.

mutation: | $(BUILD)/.deps
	nice -n 15 $(MUTATION) --out $(BUILD)/mutation $(MUTATION_ARGS)

mutation-list:
	$(MUTATION) --list $(MUTATION_ARGS)

mutation-selftest: | $(BUILD)/.deps
	nice -n 15 python3 tools/mutation.py --self-test
