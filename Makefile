# Pasokh: `make run` brings everything up, `make test` runs the whole suite. Both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# command:Debian package
# The deployment's tests read its files with nginx, systemd-analyze (systemd) and logrotate; backups use pg_dump;
# promtool (prometheus) checks the alert rules.
DEB_COMMANDS := sipp:sip-tester espeak-ng:espeak-ng sox:sox chromium:chromium debootstrap:debootstrap npm:npm wrk:wrk \
  nginx:nginx systemd-analyze:systemd logrotate:logrotate pg_dump:postgresql-client promtool:prometheus
VENDOR := agent_console/static/vendor
FONT_FILES := Vazirmatn-Regular.woff2 Vazirmatn-Bold.woff2
# TTFs for the scorecard PDF (fpdf2 embeds TrueType, not woff2).
TTF_FILES := Vazirmatn-Regular.ttf Vazirmatn-Bold.ttf
CHART_JS := chart.umd.min.js
# The public site's map (only drawn when PASOKH_MAP_TILES_URL names a tile server); its marker images beside it.
LEAFLET := leaflet/leaflet.js leaflet/leaflet.css leaflet/images/marker-icon.png leaflet/images/marker-icon-2x.png \
  leaflet/images/marker-shadow.png

.PHONY: run test test-fast bench deps debian-packages python-deps vendor asterisk lint lint-js typecheck pytest clean

# The demo: development (built-in secrets on loopback, demo accounts) unless PASOKH_ENVIRONMENT says otherwise.
run: deps asterisk
	PASOKH_ENVIRONMENT=$${PASOKH_ENVIRONMENT:-development} $(PY) -m callcenter run

test: deps asterisk lint lint-js typecheck pytest

# The unit tier alone, in well under a minute: SQLite, no Asterisk/PostgreSQL/Redis/browser (the markers, applied
# from the fixtures each test uses: tests/support/markers.py), a tenth of the property-test examples. No
# DATABASE_URL or REDIS_URL from the caller's shell reaches it.
FAST_TIER := not asterisk and not postgres and not redis and not browser
test-fast: python-deps
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile \
	  --hypothesis-profile=fast -m "$(FAST_TIER)" tests/unit

bench: deps asterisk
	$(PY) -m tests.perf.bench

deps: debian-packages python-deps vendor

# Installs only what is missing, judged by the command each package provides (node may come from elsewhere).
debian-packages:
	@missing=$$(for pair in $(DEB_COMMANDS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || echo $${pair#*:}; done; \
	  $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv; \
	  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || echo fonts-dejavu-core); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Front-end assets come from npm at build time; nothing is fetched by the browser at run time.
VENDORED := $(addprefix $(VENDOR)/,$(FONT_FILES) $(TTF_FILES) $(CHART_JS) $(LEAFLET))
vendor: $(VENDORED)

$(VENDORED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp $(addprefix node_modules/vazirmatn/fonts/webfonts/,$(FONT_FILES)) node_modules/vazirmatn/OFL.txt $(VENDOR)/
	cp $(addprefix node_modules/vazirmatn/fonts/ttf/,$(TTF_FILES)) $(VENDOR)/
	cp node_modules/chart.js/dist/$(CHART_JS) $(VENDOR)/
	cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js-LICENSE.md
	mkdir -p $(VENDOR)/leaflet/images
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/LICENSE \
	  $(VENDOR)/leaflet/
	cp node_modules/leaflet/dist/images/*.png $(VENDOR)/leaflet/images/
	touch $(VENDORED)

# The system Asterisk if installed, else the project's Debian-sid chroot under ~/.cache/pasokh (built once).
asterisk: python-deps
	$(PY) -m callcenter asterisk install

# ruff, then the dependency rule between packages (pyproject.toml [tool.importlinter], docs/adr/0040).
lint:
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

# The pages' ES modules (eslint.config.js); ESLint is a devDependency, so `npm ci` brings it with the vendored assets.
ESLINT := node_modules/.bin/eslint
lint-js: $(ESLINT)
	$(ESLINT) agent_console/static --max-warnings 0

$(ESLINT): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

typecheck:
	$(PY) -m mypy

# Three workers (pytest-xdist) on two cores, each with its own Asterisk instance and ports: most of the time is
# real-time calls and browser pages waiting on prompts and timers, not CPU, so a third worker fills the waits. A
# module stays on one worker (its fixtures and call order are as written).
TEST_WORKERS ?= 3
pytest:
	$(PY) -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf var node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
