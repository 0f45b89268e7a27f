"""The settings that grow with the estate (``render.server_budget``): the formulas against the
measured numbers, the size classes, and what the manifests render at 10, 1,000 and 10,000 tenants."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.model.environment.load import load_environment
from components.model.environment.model import Environment, Platform
from components.model.render import k8s_manifests as km
from components.model.render import server_budget as sb
from components.model.render.hub_conf import local_member_conf
from components.model.render.server_conf import render_server_conf
from tests.unit.render.conftest import OperatorMaterial
from tests.unit.render.test_k8s_manifests import (
    check,
    conf_of,
    local_tls,
    nats_server,
    render,
    server_container,
    throwaway_tls,
)

ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 ** 2
GIB = 1024 ** 3

#: benchmarks/results/scale/server-scale.md: tenants -> (stop s, start until /healthz s, RSS MiB)
MEASURED = {100: (2.48, 1.95, 65.8), 1000: (26.0, 27.92, 468.1), 10000: (223.0, 756.51, 5478.0)}


def with_tenants(env: Environment, n: int, derived_memory: bool = True) -> Environment:
    """``env`` with ``n`` copies of its lightest tenant (5 JetStream objects, fewer than a benchmark
    tenant's 6) and no other account, so its load is exactly ``n``."""
    model = min(env.tenants, key=lambda t: len(t.stream_names) + len(t.consumer_names))
    tenants = tuple(dataclasses.replace(model, id=f"t{i:05d}", name=f"Tenant {i}") for i in range(n))
    servers = dataclasses.replace(env.servers, resources=None) if derived_memory else env.servers
    return dataclasses.replace(env, tenants=tenants, accounts=(), platform=Platform(shards=0), servers=servers)


# --- formulas ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tenants", sorted(MEASURED))
def test_budgets_cover_the_measurements_with_their_safety_factor(tenants: int) -> None:
    stop, start, rss = MEASURED[tenants]
    b = sb.budget_for(tenants, jetstream_max_memory=0)
    assert b.stop_s >= 2 * stop
    assert b.start_s >= 2 * start * 0.99     # the fit passes through 1,000 and 10,000 (within rounding)
    assert b.startup_period_s * b.startup_failure_threshold >= b.start_s
    assert b.memory >= 1.5 * rss * MIB
    # the kubelet waits for JetStream's stop and the whole lame duck spread before it kills
    assert b.termination_grace_period_s >= b.stop_s + b.lame_duck_duration_s + 1
    assert b.local_start_timeout_s >= b.start_s and b.local_join_timeout_s >= b.start_s
    assert b.local_stop_timeout_s >= b.stop_s   # no SIGKILL while JetStream still flushes


def test_the_start_fit_goes_through_the_measured_points() -> None:
    def fit(n: int) -> float:
        return sb.START_S_PER_TENANT * n + sb.START_S_PER_TENANT_SQUARED * n * n
    assert fit(1000) == pytest.approx(27.92, rel=0.03)
    assert fit(10000) == pytest.approx(756.51, rel=0.01)
    assert fit(100) == pytest.approx(1.95, rel=0.25)


def test_floors_keep_small_estates_as_they_were() -> None:
    b = sb.budget_for(sb.MIN_CLASS, jetstream_max_memory=256 * MIB)
    assert (b.startup_period_s, b.startup_failure_threshold) == (10, 90)     # the probe's 900 s of before
    assert (b.local_start_timeout_s, b.local_join_timeout_s) == (20, 90)      # LocalServer's timeouts of before
    assert b.local_stop_timeout_s == 10                                      # nats_process.stop's default
    assert b.lame_duck_duration_s == 30                                      # the server's minimum
    assert b.lame_duck_grace_period_s == 10                                  # the server's default
    assert b.termination_grace_period_s == 60
    assert b.memory == 1 * GIB


def test_budgets_grow_with_the_class() -> None:
    classes = [100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000]
    budgets = [sb.budget_for(n, 256 * MIB) for n in classes]
    for field in ("stop_s", "start_s", "lame_duck_duration_s", "termination_grace_period_s",
                  "startup_failure_threshold", "memory", "local_start_timeout_s", "local_join_timeout_s",
                  "local_stop_timeout_s"):
        values = [getattr(b, field) for b in budgets]
        assert values == sorted(values), field
    assert all(b.lame_duck_grace_period_s < b.lame_duck_duration_s for b in budgets)
    assert all(b.termination_grace_period_s % 30 == 0 and b.memory % (512 * MIB) == 0 for b in budgets)


def test_numbers_at_1000_and_10000() -> None:
    b = sb.budget_for(1000, 256 * MIB)
    assert (b.stop_s, b.start_s, b.lame_duck_duration_s, b.termination_grace_period_s) == (52, 56, 30, 120)
    assert (b.startup_failure_threshold, b.memory, b.local_start_timeout_s) == (90, 1536 * MIB, 56)
    b = sb.budget_for(10000, 256 * MIB)
    assert (b.stop_s, b.start_s, b.lame_duck_duration_s, b.termination_grace_period_s) == (520, 1512, 100, 660)
    assert (b.startup_failure_threshold, b.memory, b.local_start_timeout_s) == (152, 9 * GIB, 1512)


def test_jetstream_memory_is_added_to_the_container() -> None:
    assert sb.budget_for(1000, 2 * GIB).memory == sb.budget_for(1000, 0).memory + 2 * GIB
    assert sb.gomemlimit(4 * GIB) == 4 * GIB * 9 // 10


# --- size classes --------------------------------------------------------------------------------

@pytest.mark.parametrize("load,cls", [(0, 100), (10, 100), (100, 100), (101, 150), (150, 150), (151, 200),
                                      (201, 300), (301, 500), (501, 700), (701, 1000), (1000, 1000),
                                      (1001, 1500), (7000, 7000), (7001, 10000), (10000, 10000),
                                      (10001, 15000), (70001, 100000)])
def test_size_class(load: int, cls: int) -> None:
    assert sb.size_class(load) == cls


def test_each_class_is_at_most_five_thirds_of_the_one_before() -> None:
    classes = sorted({sb.size_class(n) for n in range(1, 200001, 7)} | {sb.size_class(200000)})
    assert all(b / a <= 5 / 3 + 1e-9 for a, b in zip(classes, classes[1:]))


def test_estate_size_counts_accounts_and_objects(env: Environment) -> None:
    size = sb.estate_size(env)
    # acme: 4 streams, 2 consumers, 1 KV; globex: 2 streams, 1 consumer, 1 KV, 1 object store;
    # 2 platform shards, each with its ingest streams and consumers
    assert size.tenants == 2 and size.accounts == 2 + len(env.accounts) + env.platform.shards
    assert size.objects >= 7 + 5
    assert size.load == max(size.accounts, -(-size.objects // 6))


def test_the_platform_and_declared_accounts_count(env: Environment) -> None:
    e = dataclasses.replace(with_tenants(env, 1000), platform=Platform(shards=2))
    assert sb.estate_size(e).accounts == 1002
    assert sb.server_budget(e).size_class == 1500


def test_heavy_tenants_count_by_their_objects(env: Environment) -> None:
    heavy = max(env.tenants, key=lambda t: len(t.stream_names) + len(t.consumer_names) + len(t.kv_buckets))
    e = dataclasses.replace(with_tenants(env, 1000), tenants=tuple(
        dataclasses.replace(heavy, id=f"h{i:05d}") for i in range(1000)))
    size = sb.estate_size(e)
    assert size.objects == 7000 and size.load == 1167     # 7 objects each: 1,000 × 7 / 6
    assert sb.server_budget(e).size_class == 1500


# --- rendered ------------------------------------------------------------------------------------

#: tenants -> (terminationGracePeriodSeconds, startup failureThreshold, lame_duck_duration, memory)
#: with prod's jetstream.max_memory of 2 GiB and no servers.resources
RENDERED = {10: (60, 90, "30s", "2560Mi"), 1000: (120, 90, "30s", "3584Mi"),
            10000: (660, 152, "100s", "10752Mi")}


@pytest.mark.parametrize("tenants", sorted(RENDERED))
def test_manifests_at_scale(env: Environment, material: OperatorMaterial, tenants: int) -> None:
    grace, failures, lame_duck, memory = RENDERED[tenants]
    objs = render(with_tenants(env, tenants), material)
    pod = objs["StatefulSet"]["spec"]["template"]["spec"]
    c = server_container(objs)
    assert pod["terminationGracePeriodSeconds"] == grace
    assert c["startupProbe"] == {"httpGet": {"path": "/healthz", "port": "monitor"}, "periodSeconds": 10,
                                 "timeoutSeconds": 5, "failureThreshold": failures}
    # readiness and liveness do not grow: they only run once the server has started
    assert c["readinessProbe"]["failureThreshold"] == 3 and c["livenessProbe"]["failureThreshold"] == 3
    assert c["resources"] == {"requests": {"memory": memory}, "limits": {"memory": memory}}
    value = next(e["value"] for e in c["env"] if e["name"] == "GOMEMLIMIT")
    assert int(value) == int(memory.removesuffix("Mi")) * MIB * 9 // 10
    text = conf_of(objs)
    assert f'lame_duck_duration: "{lame_duck}"\n' in text
    assert 'lame_duck_grace_period: "10s"\n' in text
    assert f'pid_file: "{km.PID_FILE}"\n' in text


def test_explicit_resources_win(env: Environment, material: OperatorMaterial) -> None:
    c = server_container(render(with_tenants(env, 10000, derived_memory=False), material))
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}
    assert int(next(e["value"] for e in c["env"] if e["name"] == "GOMEMLIMIT")) == 4 * GIB * 9 // 10


def test_prestop_signals_lame_duck_through_the_pid_file(env: Environment, material: OperatorMaterial) -> None:
    objs = render(env, material)
    c = server_container(objs)
    assert c["lifecycle"] == {"preStop": {"exec": {"command": ["nats-server", "--signal", f"ldm={km.PID_FILE}"]}}}
    assert {"name": "pid", "mountPath": "/var/run/nats"} in c["volumeMounts"]
    assert {"name": "pid", "emptyDir": {}} in objs["StatefulSet"]["spec"]["template"]["spec"]["volumes"]
    assert km.PID_FILE.startswith("/var/run/nats/")


def test_local_servers_config_is_unchanged(env: Environment) -> None:
    # lame duck mode is for the pods' preStop hook; local servers are stopped by SIGTERM
    local = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")
    text = render_server_conf(local_member_conf(with_tenants(local, 10000), 0, data_dir="/tmp/x",
                                                operator_jwt="-", system_account="-", system_account_jwt="-"))
    assert "lame_duck" not in text and "pid_file" not in text


def test_local_timeouts_at_scale(env: Environment) -> None:
    local = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")
    assert [(b.local_start_timeout_s, b.local_join_timeout_s) for b in
            (sb.server_budget(with_tenants(local, n)) for n in (10, 1000, 10000))] == [(20, 90), (56, 90),
                                                                                     (1512, 1512)]


def test_real_nats_server_accepts_the_config_at_10000(env: Environment, material: OperatorMaterial,
                                                      tmp_path: Path) -> None:
    # nats-server refuses a lame_duck_duration below 30 s or a grace period not below it
    binary = nats_server()
    text = conf_of(render(with_tenants(env, 10000), material))
    text = local_tls(text, throwaway_tls(tmp_path / "tls")).replace(km.PID_FILE, str(tmp_path / "nats.pid"))
    res = check(binary, text, tmp_path / "nats.conf")
    assert res.returncode == 0, res.stderr + res.stdout
