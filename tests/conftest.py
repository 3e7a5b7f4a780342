"""Test-wide settings: the real clients under test stay offline, and property-based tests draw
the same examples on every run."""

import os

import pytest
from hypothesis import HealthCheck, settings

# The helpers the tests share assert too: pytest explains their failures as it does the tests'.
pytest.register_assert_rewrite("tests.translate.helpers", "tests.integration.helpers")

# litellm fetches its model price list from GitHub at import unless told to use its own copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
# No proxies: the adapter's own transport is what the tests exercise.
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)

# Property-based tests draw the same examples on every run and machine (no example database, no
# random seed), so that CI is reproducible; each test sets how many examples it draws.
settings.register_profile("adapter", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("adapter")
