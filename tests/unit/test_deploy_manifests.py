"""The deployment manifests under deploy/ agree with the code (static: nothing is built or run).

The truth is the code: which components `juke up` runs and with which module
(services/cli/components.py), their default ports (services/common/config.py), the `JUKE_*`
names the code reads, the gateway's health route. The Dockerfile, its entrypoint script,
compose.yaml, the OpenTelemetry collector config and the Kubernetes base must follow it, so
a component or port that drifts on either side fails here.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.cli.components import Component, MeshPlan, Migrate, plan_mesh
from services.common.config import DEFAULT_PORTS, DEFAULT_WORKER_PORTS, SERVICE_NAMES, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
COMPOSE = DEPLOY / "compose.yaml"
OTEL_CONFIG = DEPLOY / "otel-collector.yaml"
IMAGE = "juke-core"


# -- the truth: what the code runs ------------------------------------------------------------


@cache
def mesh() -> MeshPlan:
    """`juke up`'s plan against an external PostgreSQL and Temporal, default ports; one
    ranker process, since a deployment scales the ranker by replicas, not by components."""
    settings = Settings.from_env({
        "JUKE_HOME": "/juke-home",
        "JUKE_DATABASE_URL": "postgresql://juke@postgres:5432/juke",
        "JUKE_TEMPORAL_ADDRESS": "temporal:7233",
        "JUKE_RANKER_PROCESSES": "1",
    })
    return plan_mesh(settings, python="python", base_env={})


def launched() -> list[Component]:
    return [c for c in mesh().components if not c.external]


COMPONENTS = tuple(c.name for c in launched())
SERVICES = tuple(SERVICE_NAMES)
WORKERS = tuple(f"{name}-worker" for name in DEFAULT_WORKER_PORTS)
PORTS = {c.name: c.ports[0] for c in launched()}
PROBE_KIND = {c.name: c.probe.kind for c in launched()}
# What `docker run juke-core NAME` must execute after `python`: the module `juke up` runs.
COMMANDS = {c.name: tuple(c.command[1:]) for c in launched()}
MIGRATE_COMMAND = next(tuple(s.command[1:]) for s in mesh().steps if isinstance(s, Migrate))
HEALTH_PATH = urlsplit(mesh().component("gateway").probe.target).path


def test_the_truth_is_what_the_brief_names() -> None:
    """The derived facts themselves, so a change in the plan is a visible, deliberate one."""
    components, ports = COMPONENTS, PORTS
    assert components == (*SERVICES, *WORKERS, "gateway")
    assert ports == {
        **DEFAULT_PORTS,
        **{f"{name}-worker": port for name, port in DEFAULT_WORKER_PORTS.items()},
        "gateway": 8080,
    }
    assert ports == {"identity": 50051, "governance": 50052, "embedder": 50053,
                     "ranker": 50054, "embedder-worker": 50055, "ranker-worker": 50056,
                     "gateway": 8080}
    assert COMMANDS["embedder-worker"] == ("-m", "services.embedder.worker")
    assert COMMANDS["gateway"] == ("-m", "gateway")
    assert MIGRATE_COMMAND == ("-m", "services.cli", "migrate")
    assert HEALTH_PATH == "/healthz"
    assert re.search(r'@app\.get\(\s*"/healthz"', (REPO / "gateway" / "app.py").read_text())


_LITERAL = re.compile(r"""["']JUKE_([A-Z0-9_]+)""")
_PATTERN = re.compile(r"""f["']JUKE_\{\s*\w+\.upper\(\)\s*\}_([A-Z0-9_]+)["']""")


@cache
def juke_names_read_by_code() -> frozenset[str]:
    """Every `JUKE_*` string literal in services/ and gateway/, f-string patterns such as
    f"JUKE_{name.upper()}_PORT" expanded for identity, governance, embedder and ranker."""
    names: set[str] = set()
    for root in ("services", "gateway"):
        for path in (REPO / root).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            names.update(f"JUKE_{m}" for m in _LITERAL.findall(source))
            for suffix in _PATTERN.findall(source):
                names.update(f"JUKE_{s.upper()}_{suffix}" for s in SERVICE_NAMES)
    return frozenset(names)


def test_the_env_name_scan_finds_what_settings_reads() -> None:
    names = juke_names_read_by_code()
    for name in ("JUKE_DATABASE_URL", "JUKE_TEMPORAL_ADDRESS", "JUKE_HOST", "JUKE_API_KEYS",
                 "JUKE_GATEWAY_PORT", "JUKE_LICENSE_FAIL_CLOSED"):
        assert name in names
    for service in SERVICE_NAMES:
        assert f"JUKE_{service.upper()}_PORT" in names
        assert f"JUKE_{service.upper()}_TARGET" in names
    for service in DEFAULT_WORKER_PORTS:
        assert f"JUKE_{service.upper()}_WORKER_PORT" in names
    assert "JUKE_NOT_A_SETTING" not in names


# -- parsers ----------------------------------------------------------------------------------


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@cache
def compose() -> dict[str, Any]:
    return yaml_docs(COMPOSE)[0]


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def compose_env(service: str) -> dict[str, str]:
    env = compose_services()[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def env_file_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0].removeprefix("export ").strip())
    return names


@cache
def kustomization() -> dict[str, Any]:
    return yaml_docs(K8S_BASE / "kustomization.yaml")[0]


@cache
def k8s_resources() -> tuple[dict[str, Any], ...]:
    docs: list[dict[str, Any]] = []
    for resource in kustomization()["resources"]:
        docs.extend(yaml_docs(K8S_BASE / resource))
    return tuple(docs)


def k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in k8s_resources() if d["kind"] == kind
            and (name is None or d["metadata"]["name"] == name)]


def k8s_one(kind: str, name: str) -> dict[str, Any]:
    found = k8s(kind, name)
    assert len(found) == 1, f"expected one {kind} {name!r} in deploy/k8s/base, found {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def k8s_workloads() -> Iterator[dict[str, Any]]:
    yield from k8s("Deployment")
    yield from k8s("Job")


@cache
def dockerfile() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, rest = full.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return tuple(instructions)


def docker(instruction: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == instruction]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in docker("ENV"):
        for token in shlex.split(rest):
            key, sep, value = token.partition("=")
            assert sep, f"ENV {rest!r}: use KEY=VALUE"
            env[key] = value
    return env


def dockerfile_copies() -> list[tuple[list[str], str]]:
    copies = []
    for rest in docker("COPY"):
        args = [a for a in shlex.split(rest) if not a.startswith("--")]
        copies.append((args[:-1], args[-1]))
    return copies


_ARM = re.compile(r"^\s*([a-z][a-z0-9-]*)\)\s*exec\s+(python\s[^;]*?)\s*;;", re.MULTILINE)


@cache
def entrypoint_arms() -> dict[str, tuple[str, ...]]:
    """Component -> what follows `python` in its `exec python ...` arm, "$@" dropped."""
    arms = {}
    for name, command in _ARM.findall(ENTRYPOINT.read_text(encoding="utf-8")):
        argv = shlex.split(command)
        assert argv[0] == "python" and argv[-1] == "$@", f"{name}: {command!r} must pass \"$@\""
        arms[name] = tuple(argv[1:-1])
    return arms


def entrypoint_listed() -> list[str]:
    match = re.search(r'^COMPONENTS="([^"]*)"', ENTRYPOINT.read_text(encoding="utf-8"),
                      re.MULTILINE)
    assert match, "docker-entrypoint.sh must list its components in COMPONENTS=\"...\""
    return match.group(1).split()


def split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host, int(port)


# -- every component everywhere ---------------------------------------------------------------


def test_every_component_is_in_the_entrypoint_compose_and_k8s() -> None:
    runnable = (*COMPONENTS, "migrate", "juke")
    assert sorted(entrypoint_listed()) == sorted(runnable)
    assert sorted(entrypoint_arms()) == sorted(runnable)
    assert set(COMPONENTS) | {"migrate"} <= set(compose_services())
    assert sorted(d["metadata"]["name"] for d in k8s("Deployment")) == sorted(COMPONENTS)
    assert sorted(d["metadata"]["name"] for d in k8s("Service")) == sorted(COMPONENTS)
    assert [d["metadata"]["name"] for d in k8s("Job")] == ["migrate"]


def test_the_entrypoint_runs_the_module_juke_up_runs() -> None:
    arms = entrypoint_arms()
    for name in COMPONENTS:
        assert arms[name] == COMMANDS[name], name
    assert arms["migrate"] == MIGRATE_COMMAND
    assert arms["juke"] == ("-m", "services.cli")
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["juke"] == "services.cli.main:main"


@pytest.mark.parametrize("name", sorted(entrypoint_arms()))
def test_each_entrypoint_command_is_a_module_that_exists(name: str) -> None:
    flag, module, *_ = entrypoint_arms()[name]
    assert flag == "-m"
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{name}: no module {module}"
    if spec.submodule_search_locations is not None:  # `python -m package` runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_the_entrypoint_refuses_unknown_components_loudly() -> None:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh")
    assert re.search(r"^set -eu", text, re.MULTILINE)
    fallback = re.search(r"^\s*\*\)(.*?);;", text, re.MULTILINE | re.DOTALL)
    assert fallback, "no catch-all arm"
    assert "unknown component" in fallback.group(1)
    assert ">&2" in fallback.group(1)
    assert re.search(r"exit\s+[1-9]", fallback.group(1))


# -- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_is_python_311_slim_and_runs_as_non_root() -> None:
    args = dict(rest.split("=", 1) for rest in docker("ARG") if "=" in rest)
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
             for rest in docker("FROM")]
    assert bases and all(b.startswith("python:3.11-slim") for b in bases), bases
    user = docker("USER")[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: a numeric non-root uid"
    for workload in k8s_workloads():
        assert pod_spec(workload)["securityContext"]["runAsUser"] == int(uid)


def test_dockerfile_installs_the_project_like_the_makefile() -> None:
    runs = " && ".join(docker("RUN"))
    assert re.search(r"pip install \.(\s|$)", runs)
    musicnn = re.search(r"^MUSICNN\s*:?=\s*(\S+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert musicnn
    assert re.search(rf"pip install --no-deps {re.escape(musicnn.group(1))}(\s|$)", runs)


def test_dockerfile_installs_a_java_runtime_for_spark() -> None:
    """pyspark (a project dependency: the Spark training engine) needs Java 17+."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"pyspark\b", d) for d in dependencies)
    runs = " && ".join(docker("RUN"))
    install = re.search(r"apt-get install (?:-\S+\s+)*([^&]*)", runs)
    assert install, "the Dockerfile installs no apt package"
    packages = install.group(1).split()
    assert any(re.fullmatch(r"openjdk-(1[7-9]|[2-9]\d)-jre(-headless)?", p) for p in packages), \
        packages


def test_dockerfile_copies_every_packaged_source_tree() -> None:
    sources = {src.rstrip("/") for srcs, _ in dockerfile_copies() for src in srcs}
    assert "pyproject.toml" in sources
    find = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = set()
    for where in find["packages"]["find"]["where"]:
        for pattern in find["packages"]["find"]["include"]:
            for path in (REPO / where).glob(pattern.rstrip("*") + "*"):
                if path.is_dir() and (path / "__init__.py").exists():
                    roots.add(path.name if where == "." else where)
    assert roots == {"services", "gateway", "protos"}
    assert roots <= sources


def test_dockerfile_entrypoint_is_the_script() -> None:
    entrypoint = json.loads(docker("ENTRYPOINT")[-1])
    assert Path(entrypoint[0]).name == ENTRYPOINT.name
    copied = {Path(dest).name: srcs for srcs, dest in dockerfile_copies()}
    assert copied[ENTRYPOINT.name] == [ENTRYPOINT.relative_to(REPO).as_posix()]
    assert ENTRYPOINT.is_file()


def test_dockerfile_exposes_exactly_the_component_ports() -> None:
    exposed = {int(p.split("/")[0]) for rest in docker("EXPOSE") for p in rest.split()}
    assert exposed == set(PORTS.values())
    assert dockerfile_env()["JUKE_HOST"] == "0.0.0.0"


def test_dockerignore_keeps_local_state_out_and_the_sources_in() -> None:
    patterns = [line.strip().rstrip("/") for line in
                (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for excluded in (".venv", ".juke", ".git"):
        assert excluded in patterns
    needed = {src for srcs, _ in dockerfile_copies() for src in srcs}
    for src in needed:
        for pattern in patterns:
            assert not fnmatch.fnmatch(src, pattern), f"{pattern} excludes {src}"
            assert not any(fnmatch.fnmatch(parent.as_posix(), pattern)
                           for parent in Path(src).parents if parent != Path(".")), src


# -- compose ----------------------------------------------------------------------------------


JUKE_IN_COMPOSE = (*COMPONENTS, "migrate")


def test_compose_has_the_infrastructure() -> None:
    services = compose_services()
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgres"
    assert temporal["depends_on"]["postgres"]["condition"] == "service_healthy"
    ui = services["temporal-ui"]
    assert ui["image"].startswith("temporalio/ui:")
    assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert any(str(p).endswith("8233:8080") for p in ui["ports"])
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib")


@pytest.mark.parametrize("name", JUKE_IN_COMPOSE)
def test_compose_builds_each_component_from_the_one_dockerfile(name: str) -> None:
    service = compose_services()[name]
    build = service["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert service["image"].split(":")[0] == IMAGE
    assert service["command"][0] == name
    assert name in entrypoint_arms()


@pytest.mark.parametrize("name", COMPONENTS)
def test_compose_healthcheck_probes_the_component_port(name: str) -> None:
    test = compose_services()[name]["healthcheck"]["test"]
    assert test[:3] == ["CMD", ENTRYPOINT.name, "healthcheck"]
    kind, target = test[3:]
    assert kind == PROBE_KIND[name]
    if kind == "http":
        url = urlsplit(target)
        assert (url.port, url.path) == (PORTS[name], HEALTH_PATH)
    else:
        assert split_target(target)[1] == PORTS[name]
    for port in compose_services()[name].get("ports", []):
        assert int(str(port).rsplit(":", 1)[1].split("/")[0]) == PORTS[name]


def test_compose_dependencies_exist_and_order_the_start() -> None:
    services = compose_services()
    valid = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dep, how in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert how["condition"] in valid
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck"

    def needs(name: str, condition: str) -> set[str]:
        return {d for d, how in (services[name].get("depends_on") or {}).items()
                if how["condition"] == condition}

    def after(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for dep in services[todo.pop()].get("depends_on") or {}:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    assert "postgres" in needs("migrate", "service_healthy")
    for name in COMPONENTS:
        assert "migrate" in after(name), f"{name} may start before the migrations"
    for name in SERVICES:
        assert "migrate" in needs(name, "service_completed_successfully")
    for name in WORKERS:
        assert "temporal" in needs(name, "service_healthy")
    assert set(SERVICES) <= needs("gateway", "service_healthy")


@pytest.mark.parametrize("name", JUKE_IN_COMPOSE)
def test_compose_environment_points_at_the_mesh(name: str) -> None:
    env = compose_env(name)
    services = compose_services()
    assert env["JUKE_HOST"] == "0.0.0.0"
    db = urlsplit(env["JUKE_DATABASE_URL"])
    assert db.scheme == "postgresql" and db.hostname == "postgres" and db.path == "/juke"
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "juke"
    host, port = split_target(env["JUKE_TEMPORAL_ADDRESS"])
    assert host in services and port == 7233
    for service in SERVICES:
        assert env[f"JUKE_{service.upper()}_TARGET"] == f"{service}:{PORTS[service]}"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert env["OTEL_SERVICE_NAME"] == f"juke-{name}"


def test_compose_api_keys_come_from_an_env_file() -> None:
    for name in JUKE_IN_COMPOSE:
        assert "JUKE_API_KEYS" not in compose_env(name), "a secret inline in compose.yaml"
    env_files = compose_services()["gateway"]["env_file"]
    paths = [e["path"] if isinstance(e, dict) else e for e in env_files]
    assert "./juke.env" in paths
    assert "JUKE_API_KEYS" in env_file_names(DEPLOY / "juke.env.example")


def test_compose_corpus_volume_is_where_the_embedder_worker_reads() -> None:
    worker = compose_services()["embedder-worker"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in worker["volumes"]}
    corpus_dir = compose_env("embedder-worker")["JUKE_CORPUS_DIR"]
    assert mounts[corpus_dir] in compose()["volumes"]


def test_otel_collector_receives_otlp_grpc_on_4317_and_prints_it() -> None:
    service = compose_services()["otel-collector"]
    mounts = [str(v).split(":") for v in service["volumes"]]
    assert any((COMPOSE.parent / m[0]).resolve() == OTEL_CONFIG for m in mounts)
    config = yaml_docs(OTEL_CONFIG)[0]
    endpoint = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert split_target(endpoint)[1] == 4317
    assert "debug" in config["exporters"]
    traces = config["service"]["pipelines"]["traces"]
    assert "otlp" in traces["receivers"] and "debug" in traces["exporters"]


# -- Kubernetes -------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    listed = set(kustomization()["resources"])
    present = {p.name for p in K8S_BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert [i["name"] for i in kustomization()["images"]] == [IMAGE]


def config_map() -> dict[str, Any]:
    return k8s("ConfigMap")[0]


def secret() -> dict[str, Any]:
    return k8s_one("Secret", "juke-secrets")


def internal_tokens_secret() -> dict[str, Any]:
    return k8s_one("Secret", INTERNAL_TOKENS_SECRET)


def secret_data(doc: dict[str, Any]) -> dict[str, str]:
    return {**(doc.get("data") or {}), **(doc.get("stringData") or {})}


def test_k8s_secret_holds_the_secrets_as_placeholders() -> None:
    assert len(k8s("ConfigMap")) == 1 and len(k8s("Secret")) == 2
    data = secret_data(secret())
    assert set(data) == {"JUKE_DATABASE_URL", "JUKE_API_KEYS", "JUKE_INTERNAL_TOKENS"}
    for doc in (secret(), internal_tokens_secret()):
        for name, value in secret_data(doc).items():
            assert "replace-me" in value.lower(), f"{name}: the base must hold no real secret"
    assert not set(data) & set(config_map()["data"])


def test_k8s_config_map_points_at_the_services() -> None:
    data = config_map()["data"]
    assert data["JUKE_HOST"] == "0.0.0.0"
    assert data["JUKE_TEMPORAL_ADDRESS"]
    for service in SERVICES:
        host, port = split_target(data[f"JUKE_{service.upper()}_TARGET"])
        assert port == PORTS[service]
        k8s_one("Service", host)


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    by_name = {p["name"]: p["containerPort"] for p in container["ports"]}
    return by_name[port]


@pytest.mark.parametrize("name", COMPONENTS)
def test_k8s_deployment_and_service_of_each_component(name: str) -> None:
    deployment = k8s_one("Deployment", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    container = only_container(deployment)
    assert container["image"].split(":")[0] == IMAGE
    assert container["args"] == [name]
    assert [p["containerPort"] for p in container["ports"]] == [PORTS[name]]

    service = k8s_one("Service", name)
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == PORTS[name]
    assert resolve_port(container, port["targetPort"]) == PORTS[name]


@pytest.mark.parametrize("name", COMPONENTS)
def test_k8s_probes_hit_the_component_port(name: str) -> None:
    container = only_container(k8s_one("Deployment", name))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe == "startupProbe" and probe not in container:
            continue
        spec = container[probe]
        if PROBE_KIND[name] == "grpc":
            assert spec["grpc"]["port"] == PORTS[name], (name, probe)
            assert spec["grpc"].get("service", "") == ""
        else:
            assert PROBE_KIND[name] == "http"
            assert spec["httpGet"]["path"] == HEALTH_PATH
            assert resolve_port(container, spec["httpGet"]["port"]) == PORTS[name]


def workload_ids() -> list[str]:
    return [f"{w['kind']}/{w['metadata']['name']}" for w in k8s_workloads()]


@pytest.mark.parametrize("workload", list(k8s_workloads()), ids=workload_ids())
def test_k8s_workloads_are_bounded_non_root_and_configured(workload: dict[str, Any]) -> None:
    pod = pod_spec(workload)
    container = only_container(workload)
    resources = container["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[bound]), bound
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert context["runAsNonRoot"] is True
    assert context.get("runAsUser", 1) != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    sources = {(k, ref["name"]) for item in container["envFrom"] for k, ref in item.items()}
    assert ("configMapRef", config_map()["metadata"]["name"]) in sources
    assert ("secretRef", secret()["metadata"]["name"]) in sources
    assert container["args"][0] in entrypoint_arms()


def test_k8s_migrate_job_runs_the_migrations() -> None:
    job = k8s_one("Job", "migrate")
    assert only_container(job)["args"] == ["migrate"]
    assert entrypoint_arms()["migrate"] == MIGRATE_COMMAND
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")


# -- env names and ports everywhere -----------------------------------------------------------


def env_sources() -> Iterator[tuple[str, dict[str, str]]]:
    """(where, {name: value}) for every place the manifests set environment variables."""
    for name in compose_services():
        yield f"compose.yaml {name}", compose_env(name)
    yield "juke.env.example", dict.fromkeys(env_file_names(DEPLOY / "juke.env.example"), "")
    yield "ConfigMap", {k: str(v) for k, v in config_map()["data"].items()}
    yield "Secret", {k: str(v) for k, v in secret_data(secret()).items()}
    for workload in k8s_workloads():
        env = {e["name"]: str(e.get("value", "")) for e in only_container(workload).get("env", [])}
        yield f"{workload['kind']} {workload['metadata']['name']}", env
    yield "Dockerfile", dockerfile_env()


def test_every_juke_name_in_the_manifests_is_read_by_the_code() -> None:
    known = juke_names_read_by_code()
    unknown = sorted(f"{where}: {name}" for where, env in env_sources()
                     for name in env if name.startswith("JUKE_") and name not in known)
    assert not unknown, f"JUKE_* names no code reads: {unknown}"


_PORT_NAME = re.compile(r"^JUKE_([A-Z]+?)(_WORKER)?_PORT$")


def test_every_port_setting_in_the_manifests_is_the_default() -> None:
    seen = 0
    for where, env in env_sources():
        for name, value in env.items():
            match = _PORT_NAME.match(name)
            if not match:
                continue
            component = match.group(1).lower() + ("-worker" if match.group(2) else "")
            assert component in PORTS, f"{where}: {name} is no deployed component's port"
            assert int(value) == PORTS[component], f"{where}: {name}={value}"
            seen += 1
    assert seen >= 2 * len(PORTS)  # compose and the ConfigMap set every one explicitly


# -- who calls whom: internal tokens and NetworkPolicies -------------------------------------


INTERNAL_TOKENS_SECRET = "juke-internal-tokens"
CLI = "juke-cli"  # the label of `juke` pods run in the cluster
NAME_LABEL = "app.kubernetes.io/name"
CHANNEL_FACTORIES = ("service_channel", "aio_service_channel")
# The only places that may make a channel without the factory: the factory itself, and the
# CLI's health probe (health is open and needs neither a token nor a named dependency).
RAW_CHANNEL_ALLOWED = {"services/common/grpc_client.py", "services/cli/health.py"}
DNS, POSTGRES, TEMPORAL, OTLP = 53, 5432, 7233, 4317


def _module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@cache
def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


def code_of(roots: tuple[str, ...]) -> tuple[Path, ...]:
    """Every file of ours reachable by imports from the modules `roots`."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith(("services.", "gateway")):
            continue
        seen.add(name)
        path = _module_file(name)
        if path is not None:
            files.add(path)
            todo.extend(_imported(_tree(path)))
    return tuple(sorted(files))


def _calls(files: tuple[Path, ...]) -> Iterator[ast.Call]:
    for path in files:
        yield from (n for n in ast.walk(_tree(path)) if isinstance(n, ast.Call))


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None


def entry_modules(component: str) -> tuple[str, ...]:
    if component == CLI:  # its command modules are imported by name: all of services/cli
        return tuple(".".join(p.relative_to(REPO).with_suffix("").parts)
                     for p in sorted((REPO / "services" / "cli").rglob("*.py")))
    module = COMMANDS[component][1]
    path = _module_file(module)
    return (f"{module}.__main__",) if path is not None and path.name == "__init__.py" \
        else (module,)


@cache
def services_called_by(component: str) -> frozenset[str]:
    """The services whose channel the component's code makes: service_channel("<name>")."""
    return frozenset(call.args[0].value for call in _calls(code_of(entry_modules(component)))
                     if _called_name(call) in CHANNEL_FACTORIES
                     and call.args and isinstance(call.args[0], ast.Constant))


def uses_database(component: str) -> bool:
    return any(_called_name(c) == "build_engine" for c in _calls(code_of(entry_modules(component))))


def uses_temporal(component: str) -> bool:
    return any(isinstance(c.func, ast.Attribute) and c.func.attr == "connect"
               and isinstance(c.func.value, ast.Name) and c.func.value.id == "Client"
               for c in _calls(code_of(entry_modules(component))))


CALLING = (*COMPONENTS, CLI)


def callers_of(service: str) -> set[str]:
    return {c for c in CALLING if service in services_called_by(c)}


def test_every_channel_names_its_service_so_the_callers_can_be_derived() -> None:
    sources = [p for root in ("services", "gateway") for p in (REPO / root).rglob("*.py")]
    for path in sources:
        where = path.relative_to(REPO).as_posix()
        for call in _calls((path,)):
            name = _called_name(call)
            if name in CHANNEL_FACTORIES:
                first = call.args[0] if call.args else None
                assert isinstance(first, ast.Constant) and first.value in SERVICE_NAMES, \
                    f"{where}:{call.lineno}: {name} needs the service's name as a literal"
            if name in ("insecure_channel", "secure_channel"):
                assert where in RAW_CHANNEL_ALLOWED, \
                    f"{where}:{call.lineno}: make channels with services.common.grpc_client"


def test_the_derived_callers_are_the_meshs() -> None:
    """The derivation itself, so a change in who calls whom is a visible, deliberate one."""
    assert {s: callers_of(s) for s in SERVICES} == {
        "identity": {"gateway", "ranker", "ranker-worker", "embedder-worker", CLI},
        "governance": {"gateway", "ranker", "ranker-worker", "embedder-worker", CLI},
        "embedder": {"gateway", "ranker", "ranker-worker", CLI},
        "ranker": {"gateway", "ranker-worker", CLI},
    }
    assert not uses_database("gateway") and uses_temporal("gateway")
    assert all(uses_database(s) and not uses_temporal(s) for s in SERVICES)
    assert all(uses_database(w) and uses_temporal(w) for w in WORKERS)


def network_policy(component: str) -> dict[str, Any]:
    found = [p for p in k8s("NetworkPolicy")
             if p["spec"]["podSelector"] == {"matchLabels": {NAME_LABEL: component}}]
    assert len(found) == 1, f"expected one NetworkPolicy selecting {component}'s pods"
    return found[0]["spec"]


def _pod_names(peers: list[dict[str, Any]]) -> set[str]:
    names = set()
    for peer in peers:
        assert set(peer) == {"podSelector"}, peer  # only pods of this base, by name
        names.add(peer["podSelector"]["matchLabels"][NAME_LABEL])
    return names


def _ports(rule: dict[str, Any]) -> set[int]:
    return {int(p["port"]) for p in rule.get("ports", [])}


def ingress(component: str) -> dict[str, set[int]]:
    """Caller ("*": anyone) -> ports it may reach on the component."""
    allowed: dict[str, set[int]] = {}
    for rule in network_policy(component).get("ingress") or []:
        for caller in _pod_names(rule["from"]) if "from" in rule else {"*"}:
            allowed.setdefault(caller, set()).update(_ports(rule))
    return allowed


def egress(component: str) -> tuple[dict[str, set[int]], set[int]]:
    """(pod of this base -> ports, ports reachable anywhere: DNS and the external systems)."""
    pods: dict[str, set[int]] = {}
    anywhere: set[int] = set()
    for rule in network_policy(component).get("egress") or []:
        if "to" not in rule:
            anywhere |= _ports(rule)
            continue
        for callee in _pod_names(rule["to"]):
            pods.setdefault(callee, set()).update(_ports(rule))
    return pods, anywhere


@pytest.mark.parametrize("name", (*COMPONENTS, CLI, "migrate"))
def test_every_component_has_a_network_policy_for_both_directions(name: str) -> None:
    spec = network_policy(name)
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    for workload in k8s_workloads():
        if workload["metadata"]["name"] == name:
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert spec["podSelector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_admits_exactly_the_components_whose_code_calls_it(service: str) -> None:
    assert ingress(service) == {caller: {PORTS[service]} for caller in callers_of(service)}


def test_the_gateway_is_open_on_its_port_and_nothing_else_admits_anyone() -> None:
    assert ingress("gateway") == {"*": {PORTS["gateway"]}}
    for name in (*WORKERS, CLI, "migrate"):  # probes come from the node: always allowed
        assert ingress(name) == {}, name


@pytest.mark.parametrize("name", CALLING)
def test_each_component_reaches_exactly_what_its_code_calls(name: str) -> None:
    pods, anywhere = egress(name)
    assert pods == {service: {PORTS[service]} for service in services_called_by(name)}
    expected = {DNS, OTLP} | ({POSTGRES} if uses_database(name) else set()) | \
        ({TEMPORAL} if uses_temporal(name) else set())
    assert anywhere == expected


def test_migrate_reaches_only_postgres() -> None:
    assert egress("migrate") == ({}, {DNS, POSTGRES, OTLP})


def test_internal_auth_is_on_and_each_caller_presents_its_own_token() -> None:
    assert config_map()["data"]["JUKE_INTERNAL_AUTH"] == "token"
    tokens = secret_data(internal_tokens_secret())
    callers = {c for c in CALLING if services_called_by(c)}
    assert set(tokens) == callers
    for name in callers - {CLI}:
        env = {e["name"]: e for e in only_container(k8s_one("Deployment", name)).get("env", [])}
        ref = env["JUKE_INTERNAL_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": INTERNAL_TOKENS_SECRET, "key": name}, name
    for workload in k8s_workloads():  # no pod sees the other callers' tokens
        for source in only_container(workload)["envFrom"]:
            assert source.get("secretRef", {}).get("name") != INTERNAL_TOKENS_SECRET


def test_the_accepted_token_entries_parse_one_per_caller() -> None:
    from services.common.internal_auth import configured_callers

    entries = secret_data(secret())["JUKE_INTERNAL_TOKENS"]
    parsed = configured_callers(Settings.from_env({"JUKE_INTERNAL_TOKENS": entries}))
    assert len(parsed) == len(secret_data(internal_tokens_secret()))


def test_serving_pods_share_the_artifacts_and_clients_reach_every_ranker_replica() -> None:
    artifact_dir = config_map()["data"]["JUKE_ARTIFACT_DIR"]
    assert k8s_one("PersistentVolumeClaim", "juke-artifacts")["spec"]["accessModes"] == [
        "ReadWriteMany"]
    for name in ("ranker", "embedder", "embedder-worker"):
        deployment = k8s_one("Deployment", name)
        claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName")
                  for v in deployment["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["name"]: m["mountPath"] for m in only_container(deployment)["volumeMounts"]}
        shared = [n for n, claim in claims.items() if claim == "juke-artifacts"]
        assert shared and mounts[shared[0]] == artifact_dir, name
    ranker = k8s_one("Service", "ranker")
    assert ranker["spec"]["clusterIP"] == "None"  # the name resolves to every replica
    assert k8s_one("Deployment", "ranker")["spec"]["replicas"] >= 2
