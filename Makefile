# The README's commands. Each target does all the set-up it needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
DEBIAN_PACKAGES := runc crun busybox-static iproute2 util-linux docker-registry skopeo apache2-utils openssl golang-github-containers-common

.PHONY: demo test bench lint system-deps venv demo-image

system-deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

# Made afresh when pyproject.toml changes, so that a dependency dropped or
# replaced there does not linger in the venv.
$(VENV)/.installed: pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	# compat: a plain path in a .pth file, where the default editable mode
	# imports a finder module that adds ~15 ms to the start of every command.
	$(BIN)/pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[dev]'
	touch $@

# The demo's image: a busybox root filesystem imported into Corral's store.
demo-image: system-deps venv
	@tmp=$$(mktemp -d) && specs/busybox-rootfs.sh $$tmp/rootfs.tar && \
	  $(BIN)/corral image import $$tmp/rootfs.tar busybox:latest && rm -rf $$tmp

demo: demo-image
	$(BIN)/corral -f specs/demo.yaml up

lint: venv
	$(BIN)/ruff check orchestrator runtime netplug tests bench
	$(BIN)/mypy

# The suite runs in a private network namespace of its own (unshare --net):
# bridges, veths and routes it makes never touch the machine's network.
test: system-deps lint
	unshare --net -- bash -c 'ip link set lo up && exec $(BIN)/pytest -q -p no:cacheprovider'

bench: system-deps venv
	unshare --net -- bash -c 'ip link set lo up && exec $(BIN)/python -m bench'
