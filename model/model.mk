# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Spin model of the notifier / fault / release protocol (docs/model.md).
# Works included from the top Makefile and on its own:
#   make model-check
#   make -f model/model.mk model-check

# Remember whether a default goal exists yet: this fragment may be
# included before the top Makefile's first rule and must not take
# `make` with no arguments away from it.
MODEL_SAVED_GOAL := $(.DEFAULT_GOAL)

BUILD      ?= build
MODEL_CC   ?= cc
MODEL_SRC  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
MODEL_OUT   = $(BUILD)/model
MODEL_BUGS := fault_no_retry seq_snapshot_late ignore_in_progress \
              release_null_pgt_fault

.PHONY: model-check model-deps model-clean

# spin is Debian's `spin` package. Installed when we are root, otherwise
# we stop with the exact command to run.
model-deps:
	@command -v spin >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: spin"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin; } || exit 1; \
	  else \
	    echo "missing Debian package; run: sudo apt-get install spin"; exit 1; \
	  fi; \
	}

model-check: model-deps
	@sh $(MODEL_SRC)/check.sh $(MODEL_SRC)/protocol.pml $(MODEL_OUT) \
	  '$(MODEL_CC)' $(MODEL_BUGS)

model-clean:
	rm -rf $(MODEL_OUT)

ifeq ($(MODEL_SAVED_GOAL),)
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := model-check
else
.DEFAULT_GOAL :=
endif
endif
