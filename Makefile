# Two commands on a fresh clone: `make demo` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pip as every set-up step calls it: the locked files only, quiet, no version nag
PIP := $(PY) -m pip -q --disable-pip-version-check
LOCK_FLAGS := --generate-hashes --universal --python-version 3.10 -q --custom-compile-command "make lock"
SYS_STAMP := $(VENV)/.system-stamp
# Airflow in a venv of its own (the DAG's test drives its binaries from the project's pytest)
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp
# Debian packages the tests use as independent checkers: TOTP, QR decoding, a real browser,
# aws CLI v2 (`aws configure import --csv`; the PyPI awscli is v1); a CJK font, without which
# chromium draws the Korean screenshots as boxes
APT_PACKAGES := oathtool zbar-tools chromium awscli fonts-noto-cjk

.PHONY: setup system demo test lint typecheck unit nbval browser airflow-setup airflow-test \
	refresh screenshots docs bench bench-org lab clean messages translate lock

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes --no-deps -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	$(PIP) check
	@# the library's bytecode, once: with PYTHONDONTWRITEBYTECODE (most containers) every run
	@# and every kernel compiled runbook_lib from source again (≈ 60 ms each, docs/warm-kernels.md)
	$(PY) -m compileall -q -j 0 runbook_lib
	touch $(STAMP)

# regenerate both locks from pyproject.toml and deploy/airflow-requirements.txt (newest versions
# that fit; every platform and Python >= 3.10, with hashes); `make setup` installs exactly them
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra lab --extra test $(LOCK_FLAGS) -o requirements.lock
	printf 'setuptools>=68\n' | $(BIN)/uv pip compile pyproject.toml deploy/airflow-requirements.txt - \
	  $(LOCK_FLAGS) -o deploy/airflow.lock

system: $(SYS_STAMP)

$(SYS_STAMP): | $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	touch $(SYS_STAMP)

# every runbook on a new sandbox; its throw-away secrets go to a private scratch folder that is
# removed when the demo ends (the run records stay in runs/)
demo: setup
	@secrets=$$(mktemp -d /tmp/iam-runbooks-demo-XXXXXX); trap 'rm -rf "$$secrets"' EXIT; \
	echo "sandbox secrets (passwords, keys, seeds) go to $$secrets, removed when the demo ends"; \
	RUNBOOK_SECRETS_DIR=$$secrets $(BIN)/runbook run --all -f parameters/sandbox.yaml; rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "(exit 3: a manual step is pending, as recorded above)"; fi; \
	exit $$rc

lint: setup
	$(BIN)/ruff check runbook_lib tests bench dags conftest.py
	$(BIN)/ruff format --check runbook_lib tests bench dags conftest.py

# the library strict; the DAG strict against .venv-airflow's Airflow
typecheck: setup airflow-setup
	$(BIN)/mypy
	$(BIN)/mypy --strict --python-executable $(AIRFLOW_VENV)/bin/python dags

# everything but nbval and the browser, in 2 pytest-xdist workers (a sandbox each); the
# terminal summary says how many notebook kernels started
unit: setup system
	$(BIN)/pytest -q -n 2 --durations=15 --ignore=tests/browser --ignore=tests/evidence/nbval --ignore=tests/airflow

# the committed notebooks' outputs, compared cell by cell on a fresh sandbox (nbval, in a
# subprocess), and scanned for the secrets of that run with what `runbook docs` makes of them
nbval: setup
	$(BIN)/pytest -q --durations=15 tests/evidence/nbval

refresh: setup
	$(BIN)/runbook refresh

# the course's screenshots, taken again from the current apps (`runbook app 01/02/03 --lang
# en|ko` on a sandbox of their own, chromium at 1280 px, secrets masked and checked): every
# docs/voila-*.png and docs/ko/voila-*.png is overwritten; run it after `make refresh`
screenshots: setup system
	$(PY) -m runbook_lib.authoring.screenshots

# paired, interleaved runs against aws-cli scripts; writes BENCHMARKS.md (not part of `make test`)
bench: setup system
	$(PY) bench/bench.py --runs 5

# S0 over 100- and 1000-member sandbox Organizations (≈ 10 min on 2 shared cores): wall, peak
# RSS of the process tree, marginal cost per account; updates its section of BENCHMARKS.md
bench-org: setup
	$(PY) bench/org_scale.py --sizes 100,1000

# widgets in a real browser (Debian chromium + playwright): JupyterLab, Voila, the offline course
browser: setup system
	$(BIN)/pytest -q --durations=15 tests/browser

# apache-airflow (deploy/airflow.lock, from deploy/airflow-requirements.txt) and this project in .venv-airflow
airflow-setup: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP): pyproject.toml deploy/airflow.lock
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip -q --disable-pip-version-check install --require-hashes --no-deps -r deploy/airflow.lock
	$(AIRFLOW_VENV)/bin/python -m pip -q --disable-pip-version-check install --no-deps --no-build-isolation \
	  --config-settings editable_mode=compat -e .
	$(AIRFLOW_VENV)/bin/python -m pip check
	touch $(AIRFLOW_STAMP)

# dags/iam_runbooks.py: lint, mypy against .venv-airflow's Airflow, then two `airflow dags
# test` runs against a sandbox Organization (SQLite, a throw-away AIRFLOW_HOME); the project's
# pytest drives .venv-airflow's `airflow` (the task functions in-process: `unit`, tests/org/)
airflow-test: setup airflow-setup
	$(BIN)/pytest -q --durations=5 tests/airflow

# the whole suite in ONE pytest session: unit, nbval, browser and Airflow tests share 4 xdist
# workers (a sandbox each; a module stays on one worker). Four on two cores, because much of
# the suite waits on kernels, Chromium and subprocesses: 3 min here, against 4.5 min stage by
# stage. The stage targets above run one part each.
TEST_WORKERS ?= 4
test: lint typecheck system airflow-setup
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=15 tests

# the committed notebooks as a static course that reads offline: site/index.html
docs: setup
	$(BIN)/runbook docs --output-dir site

lab: setup
	$(BIN)/runbook lab --sandbox

# the library's messages: extract _()/N_()/ngettext() with Babel (babel.cfg), merge into the
# Korean catalog, compile the committed .mo that stdlib gettext reads (no Babel at run time)
LOCALE := runbook_lib/locale
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
	  --omit-header -o $(LOCALE)/runbook.pot .
	$(BIN)/pybabel update -i $(LOCALE)/runbook.pot -d $(LOCALE) -D runbook -l ko --ignore-obsolete \
	  --ignore-pot-creation-date --width 100
	$(BIN)/pybabel compile -d $(LOCALE) -D runbook --statistics

# notebooks/ko/ from the English notebooks + notebooks/ko/catalog.yaml (code cells copied)
translate: setup
	$(PY) -m runbook_lib.authoring.translate

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) runs site
