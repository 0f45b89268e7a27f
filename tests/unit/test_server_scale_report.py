"""The server-scale benchmark's pure parts: the rendered config it starts and its report."""
from __future__ import annotations

import pytest

from benchmarks import server_scale
from tests.support.operator_mode import OperatorSetup

pytestmark = pytest.mark.unit


def _row(n: int) -> dict:
    return {"tenants": n, "server_version": "v2.15.1", "ok": True, "sign_s": 1.0, "load_avg_at_start": [1.0, 1.0, 1.0],
            "jetstream_limits": {"max_memory_mib": 256, "max_file_mib": 10240}, "extra_resolver": "",
            "rss_empty_mib": 15.0, "rss_after_push_mib": 16.0, "rss_after_objects_mib": 60.0,
            "push": {"accounts_per_s": 300.0, "wall_s": 0.3, "window": 32, "failures": 0, "first_failures": [],
                     "batches": [{"accounts_per_s": 300.0}]},
            "objects": {"objects": 6 * n, "objects_per_s": 100.0, "wall_s": 6.0, "parallel": 8, "failures": 0,
                        "first_failures": [], "batches": [{"objects_per_s": 100.0}]},
            "jsz": {"streams": 4 * n, "consumers": 2 * n, "jsz_bytes": 680, "jsz_accounts_bytes": 35000},
            "restart": {"stop_s": 2.0, "healthz_s": 1.9, "js_enabled_s": 1.9, "jsz_complete_s": 1.9,
                        "sample_ready_s": 3.2, "sampled_accounts": 50, "rss_before_mib": 60.0, "rss_after_mib": 58.0},
            "store_files": 18 * n, "resolver_files": n + 1}


def test_the_server_config_is_the_dev_stacks_with_extra_resolver_settings(tmp_path):
    env = server_scale.bench_environment(3, (4222, 8222, 7422))
    setup = OperatorSetup.build()
    text = server_scale.server_config(env, setup, str(tmp_path), extra_resolver="limit: 20000")
    assert "  type: full\n  limit: 20000\n" in text
    assert setup.system_account.public_key in text
    assert "max_file_store: " in text


def test_every_tenant_gets_four_streams_and_two_consumers_from_the_stacks_plan():
    env = server_scale.bench_environment(2, (4222, 8222, 7422))
    work = server_scale.plan_work(env, OperatorSetup.build())
    kinds = [kind for kind, _, _ in work[0].objects]
    assert kinds.count("consumer") == 2 and len(kinds) - kinds.count("consumer") == 4
    assert kinds.index("consumer") > max(i for i, k in enumerate(kinds) if k == "stream")


def test_report_has_one_row_per_tenant_count_and_a_plot():
    rows = [_row(100), _row(1000)]
    md = server_scale.markdown(rows)
    assert "| 100 | 400 | 200 |" in md and "| 1000 | 4000 | 2000 |" in md
    assert server_scale.svg_plot(rows).startswith("<svg")
