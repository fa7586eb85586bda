# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make api-doc: docs/api.md from the public headers' comments
# (tools/gen-api-doc.py, which also writes the man pages: mk/install.mk).
# make api-doc-check: one run of the generator makes both; it fails when
# the committed docs/api.md no longer matches the headers, or when the
# section-3 pages made with it fail the generator's --check (a page per
# function of docs/api.md, NAME/SYNOPSIS/RETURN VALUE/CONTEXT/SEE ALSO,
# every SEE ALSO target a page, groff without a warning).  For CI.

API_HEADERS := $(wildcard include/s2mmu/*.h)

.PHONY: api-doc api-doc-check

api-doc: docs/api.md

docs/api.md: $(API_HEADERS) tools/gen-api-doc.py
	python3 tools/gen-api-doc.py -o $@ include/s2mmu

api-doc-check: | $(BUILD)/.doc-deps
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 tools/gen-api-doc.py -o "$$tmp/api.md" --man "$$tmp/man" \
	  --version $(S2_VERSION) --check include/s2mmu 2>"$$tmp/err" \
	  || { grep -v '^gen-api-doc: no doc comment' "$$tmp/err"; \
	       echo "man pages from tools/gen-api-doc.py fail its --check"; exit 1; }; \
	diff -u docs/api.md "$$tmp/api.md" \
	  || { echo "docs/api.md is stale: run make api-doc"; exit 1; }; \
	echo "api-doc-check: docs/api.md current; $$(ls "$$tmp/man/man3" | wc -l) section-3 pages pass --check"
