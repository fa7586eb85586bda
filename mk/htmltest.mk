# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make html-test: the counterexample of `s2mmu check --html` opened in a
# real browser, headless Chromium (tests/check-html.py: the SVG laid out
# with one lane per thread, the marked steps and the violation line shown,
# the page painted).  Debian's chromium package is installed as root,
# else make prints the apt-get line.

.PHONY: html-deps html-test

html-deps: $(BUILD)/.html-deps
$(BUILD)/.html-deps:
	@mkdir -p $(BUILD)
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v python3 >/dev/null || missing="$$missing python3"; \
	$(DEB_INSTALL_MISSING)
	@touch $@

html-test: all | $(BUILD)/.html-deps
	prove -v -e python3 tests/check-html.py :: $(BUILD)
