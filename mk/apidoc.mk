# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make api-doc: docs/api.md from the public headers' comments
# (tools/gen-api-doc.py).  make api-doc-check: fail when the committed
# docs/api.md no longer matches the headers (for CI).

API_HEADERS := $(wildcard include/s2mmu/*.h)

.PHONY: api-doc api-doc-check

api-doc: docs/api.md

docs/api.md: $(API_HEADERS) tools/gen-api-doc.py
	python3 tools/gen-api-doc.py -o $@ include/s2mmu

api-doc-check:
	@python3 tools/gen-api-doc.py include/s2mmu 2>/dev/null | diff -u docs/api.md - \
	  || { echo "docs/api.md is stale: run make api-doc"; exit 1; }
