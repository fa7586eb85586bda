# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make install PREFIX=... [DESTDIR=...]: headers, static and shared library
# (versioned soname) and s2mmu.pc for pkg-config.
# make example-test: install into a temporary prefix and build and run
# examples/minimal.c against it through pkg-config only, as an embedder
# would.

PREFIX     ?= /usr/local
DESTDIR    ?=
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR     ?= $(PREFIX)/lib
PCDIR      ?= $(LIBDIR)/pkgconfig
# The soname (SONAME, top Makefile) carries the major version only: a
# minor or patch release installs a new file behind the same libs2mmu.so.0
# link, which binaries already linked keep resolving.
S2_VERSION := 0.1.0
S2_SOFILE  := libs2mmu.so.$(S2_VERSION)

.PHONY: install uninstall example-test

# Rewritten on every install: it records PREFIX, which may change per call.
$(BUILD)/s2mmu.pc: FORCE_PC
	@mkdir -p $(BUILD)
	@{ \
	  echo 'prefix=$(PREFIX)'; \
	  echo 'includedir=$(INCLUDEDIR)'; \
	  echo 'libdir=$(LIBDIR)'; \
	  echo; \
	  echo 'Name: s2mmu'; \
	  echo 'Description: stage-2 (secondary) MMU page tables kept coherent with the host MMU'; \
	  echo 'Version: $(S2_VERSION)'; \
	  echo 'Cflags: -I$${includedir}'; \
	  echo 'Libs: -L$${libdir} -ls2mmu'; \
	  echo 'Libs.private: -lurcu-memb -lpthread'; \
	} > $@.tmp && mv $@.tmp $@
.PHONY: FORCE_PC
FORCE_PC:

install: $(BUILD)/libs2mmu.a $(BUILD)/libs2mmu.so $(BUILD)/s2mmu.pc
	install -d $(DESTDIR)$(INCLUDEDIR)/s2mmu $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR)
	install -m 644 include/s2mmu/*.h $(DESTDIR)$(INCLUDEDIR)/s2mmu/
	install -m 644 $(BUILD)/libs2mmu.a $(DESTDIR)$(LIBDIR)/libs2mmu.a
	install -m 755 $(BUILD)/libs2mmu.so $(DESTDIR)$(LIBDIR)/$(S2_SOFILE)
	ln -sf $(S2_SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libs2mmu.so
	install -m 644 $(BUILD)/s2mmu.pc $(DESTDIR)$(PCDIR)/s2mmu.pc

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/s2mmu
	rm -f $(DESTDIR)$(LIBDIR)/libs2mmu.a $(DESTDIR)$(LIBDIR)/$(S2_SOFILE) \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libs2mmu.so \
	      $(DESTDIR)$(PCDIR)/s2mmu.pc

# Three checks: the shared library's soname, the example linked against
# it (run through the soname link, found via the pkg-config libdir), and
# the example linked statically with `pkg-config --static`, which needs
# the Libs.private line to be right.
EXAMPLE_CFLAGS = $(CSTD) $(WARN) -O2
example-test: $(BUILD)/libs2mmu.a $(BUILD)/libs2mmu.so
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX="$$tmp/usr" >/dev/null; \
	export PKG_CONFIG_PATH="$$tmp/usr/lib/pkgconfig"; \
	libdir=$$(pkg-config --variable=libdir s2mmu); \
	soname=$$(objdump -p "$$libdir/$(S2_SOFILE)" | awk '$$1 == "SONAME" { print $$2 }'); \
	[ "$$soname" = "$(SONAME)" ] || { echo "soname is '$$soname', want $(SONAME)"; exit 1; }; \
	echo "$(CC) examples/minimal.c $$(pkg-config --cflags --libs s2mmu)"; \
	$(CC) $(EXAMPLE_CFLAGS) -o "$$tmp/minimal" examples/minimal.c \
	  $$(pkg-config --cflags --libs s2mmu) -Wl,-rpath,"$$libdir"; \
	objdump -p "$$tmp/minimal" | grep -q "NEEDED.*$(SONAME)"; \
	"$$tmp/minimal"; \
	echo "$(CC) -static examples/minimal.c $$(pkg-config --static --cflags --libs s2mmu)"; \
	$(CC) $(EXAMPLE_CFLAGS) -static -o "$$tmp/minimal-static" examples/minimal.c \
	  $$(pkg-config --static --cflags --libs s2mmu); \
	"$$tmp/minimal-static"
