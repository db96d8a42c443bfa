# SPDX-License-Identifier: MIT
#
# make deb [ARCH=arm64]: build/sealbench_<VERSION>_<arch>.deb (issue 8). Included by the
# top-level Makefile after mk/cross.mk and after GIT_REV is set.
#
# The package is built by dpkg-buildpackage from debian/ (debhelper compat 13: shlibs
# Depends, stripping, the systemd and conffile maintainer scripts come from debhelper rather
# than from hand-written ones) in a staged copy of the tree under $(DEB_STAGE), so the work
# tree gets no debian/ build droppings and the .deb does not land in the parent directory.
# The version has one source: config.mk's VERSION. debian/changelog and CHANGELOG.md must
# name it; make deb refuses to build otherwise.

DEB_ARCH := $(if $(ARCH),$(ARCH),$(BUILD_ARCH))
DEB_STAGE ?= $(BUILD)/deb
DEB_FILE := $(BUILD)/sealbench_$(VERSION)_$(DEB_ARCH).deb
# What the package build needs: the tree as git sees it (tracked and new files, less the
# ignored ones), without tests/ (33 MB of captures) but with the tests' *.mk the Makefile
# includes. The staged Makefile is the one this make runs.
DEB_SOURCES = { git ls-files -co --exclude-standard | grep -v '^tests/'; \
	git ls-files -co --exclude-standard 'tests/*.mk'; }
LINTIAN ?= lintian

.PHONY: deb deb-version
deb-version:
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	if [ "$$v" != "$(VERSION)" ]; then \
		echo "deb: debian/changelog is at $$v but config.mk VERSION is $(VERSION)" >&2; exit 1; \
	fi; \
	if ! grep -q '^## \[$(VERSION)\]' CHANGELOG.md; then \
		echo "deb: CHANGELOG.md has no '## [$(VERSION)]' section" >&2; exit 1; \
	fi

deb: deb-version
	@rm -rf $(DEB_STAGE)
	@mkdir -p $(DEB_STAGE)/sealbench-$(VERSION)
	@$(DEB_SOURCES) | tar -c --verbatim-files-from -T - | tar -x -C $(DEB_STAGE)/sealbench-$(VERSION)
	@cp $(firstword $(MAKEFILE_LIST)) $(DEB_STAGE)/sealbench-$(VERSION)/Makefile
	cd $(DEB_STAGE)/sealbench-$(VERSION) && SEALBENCH_GIT=$(GIT_REV) \
		DEB_BUILD_OPTIONS="parallel=$$(nproc) $$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -b -us -uc --host-arch=$(DEB_ARCH) >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "deb: dpkg-buildpackage failed: $(DEB_STAGE)/build.log"; exit 1; }
	@cp $(DEB_STAGE)/sealbench_$(VERSION)_$(DEB_ARCH).deb $(DEB_FILE)
	@echo "deb: $(DEB_FILE)"
	$(LINTIAN) --fail-on error $(DEB_FILE)
