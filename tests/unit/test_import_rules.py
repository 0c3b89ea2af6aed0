"""The import rules of the code base, read from the source (AST) without importing anything.

- A service (identity, governance, embedder, ranker) never imports another service, and
  services.common imports none: services talk over gRPC.
- Nothing under services/ imports the CLI (services.cli) or the gateway.
- The gateway imports only services.common and the ranker's workflow contracts.
- The CLI imports only the contracts of the ranker's workflows, never the workflows or
  activities (it starts workflows by name through Temporal).
- The ranker's core/ is pure scoring: no gRPC, SQLAlchemy, Temporal, generated protos or
  database access, and nothing of the ranker outside core/.
- The ranker's datasets/ are pure parsers: the same, within datasets/.
- A Temporal workflow module (one defining a `@workflow.defn` class) does no I/O: it imports
  no database, network, process or file-system module, calls no `open`, and imports from the
  project only contracts and other workflow modules.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "governance", "embedder", "ranker")
SHARED_PURE = ("services.common.errors", "services.common.resource_types")
IO_MODULES = ("sqlalchemy", "grpc", "psycopg", "psycopg2", "httpx", "requests", "urllib",
              "socket", "subprocess", "shutil", "pathlib", "os", "juke", "alembic",
              "services.common.db")
CORE_FORBIDDEN = ("grpc", "sqlalchemy", "temporalio", "psycopg", "psycopg2", "juke",
                  "alembic", "httpx", "requests", "fastapi", "services.common.db")


@dataclass(frozen=True)
class Module:
    name: str           # dotted, e.g. services.ranker.core.hybrid
    path: str           # relative to the repository root
    tree: ast.Module

    @property
    def imports(self) -> Iterator[tuple[int, str]]:
        """(line, imported module) for every import, nested ones included; `from a import b`
        yields a.b as well as a, so a submodule imported by name is seen."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield node.lineno, node.module
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"

    @property
    def defines_workflow(self) -> bool:
        return any(isinstance(node, ast.ClassDef) and any(
            "workflow.defn" in ast.unparse(d) for d in node.decorator_list)
            for node in ast.walk(self.tree))

    @property
    def calls_open(self) -> list[int]:
        return [node.lineno for node in ast.walk(self.tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "open"]


def parse(name: str, source: str, path: str = "<test>") -> Module:
    return Module(name, path, ast.parse(source))


@functools.cache
def project_modules() -> list[Module]:
    out = []
    for top in ("services", "gateway"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out.append(parse(".".join(parts), path.read_text(), str(rel)))
    return out


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def service_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else None


def is_contract(name: str) -> bool:
    return name.rsplit(".", 1)[-1].endswith(("_contracts", "activity_types"))


def cross_service(m: Module) -> Iterator[str]:
    own = service_of(m.name)
    if own not in SERVICES and own != "common":
        return
    for line, imported in m.imports:
        other = service_of(imported)
        if other in SERVICES and other != own:
            yield f"{m.path}:{line} imports {imported} (service {own} -> {other})"


def imports_cli_or_gateway(m: Module) -> Iterator[str]:
    if not within(m.name, "services") or within(m.name, "services.cli"):
        return
    for line, imported in m.imports:
        if within(imported, "services.cli", "gateway"):
            yield f"{m.path}:{line} imports {imported}"


def gateway_reaches_in(m: Module) -> Iterator[str]:
    if not within(m.name, "gateway"):
        return
    for line, imported in m.imports:
        contract = is_contract(imported) or _names_contract_module(imported)
        if within(imported, "services") and imported != "services" and not contract \
                and not within(imported, "services.common"):
            yield f"{m.path}:{line} imports {imported}"


def _names_contract_module(imported: str) -> bool:
    """`from services.ranker.workflows.promotion_contracts import Approval` yields the module
    and module.Approval: the latter names a member of a contract module."""
    return is_contract(imported.rsplit(".", 1)[0])


def cli_imports_workflows(m: Module) -> Iterator[str]:
    if not within(m.name, "services.cli"):
        return
    for line, imported in m.imports:
        if within(imported, "services.ranker.workflows") and imported not in (
                "services.ranker.workflows",) and not is_contract(imported) \
                and not _names_contract_module(imported):
            yield f"{m.path}:{line} imports {imported}"


def _outside_pure_package(m: Module, package: str, forbidden: tuple[str, ...]
                          ) -> Iterator[str]:
    """A pure package imports none of `forbidden` and nothing of the project outside itself
    but the pure shared modules."""
    if not within(m.name, package):
        return
    for line, imported in m.imports:
        elsewhere = within(imported, "services") and not within(
            imported, package, *SHARED_PURE) and imported not in (
            "services", "services.common", "services.ranker")
        if within(imported, *forbidden) or elsewhere:
            yield f"{m.path}:{line} imports {imported}"


def impure_core(m: Module) -> Iterator[str]:
    return _outside_pure_package(m, "services.ranker.core", CORE_FORBIDDEN)


def impure_datasets(m: Module) -> Iterator[str]:
    return _outside_pure_package(m, "services.ranker.datasets", (*CORE_FORBIDDEN, "temporalio"))


def workflow_io(m: Module) -> Iterator[str]:
    if not m.defines_workflow:
        return
    for line, imported in m.imports:
        project = within(imported, "services") and imported not in (
            "services", "services.ranker", "services.embedder", "services.ranker.workflows")
        allowed = is_contract(imported) or _names_contract_module(imported) or \
            within(imported, "services.ranker.workflows.cooccurrence")
        if within(imported, *IO_MODULES) or (project and not allowed):
            yield f"{m.path}:{line} imports {imported}"
    yield from (f"{m.path}:{line} calls open()" for line in m.calls_open)


RULES = (cross_service, imports_cli_or_gateway, gateway_reaches_in, cli_imports_workflows,
         impure_core, impure_datasets, workflow_io)


def violations(rule, modules: list[Module]) -> list[str]:  # type: ignore[no-untyped-def]
    return [v for m in modules for v in rule(m)]


def test_the_walk_reads_the_whole_project() -> None:
    assert len(project_modules()) > 100


@pytest.mark.parametrize("rule", RULES, ids=[r.__name__ for r in RULES])
def test_the_project_keeps_the_rule(rule) -> None:  # type: ignore[no-untyped-def]
    assert violations(rule, project_modules()) == []


def test_the_ranker_top_level_holds_only_composition_roots_and_packages() -> None:
    ranker = ROOT / "services" / "ranker"
    modules = sorted(p.name for p in ranker.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "worker.py"]


def test_every_ranker_package_says_what_it_owns_and_may_import() -> None:
    for package in sorted((ROOT / "services" / "ranker").glob("*/__init__.py")):
        if package.parent.name == "migrations":
            continue
        doc = ast.get_docstring(ast.parse(package.read_text())) or ""
        assert "import" in doc, f"{package} has no docstring naming what it may import"


# The checker itself, on deliberately bad code: each rule catches what it is for.

def test_a_service_importing_another_service_is_caught() -> None:
    m = parse("services.ranker.serving.service", "from services.identity.refs import parse_ref")
    assert list(cross_service(m))
    assert not list(cross_service(parse("services.ranker.x", "from services.common import db")))


def test_common_importing_a_service_is_caught() -> None:
    assert list(cross_service(parse("services.common.registry", "import services.ranker.core")))


def test_a_service_importing_the_cli_or_gateway_is_caught() -> None:
    m = parse("services.ranker.evaluation.data",
              "def f():\n    from services.cli.importers import lastfm\n")
    assert list(imports_cli_or_gateway(m))
    assert list(imports_cli_or_gateway(parse("services.identity.x", "import gateway.app")))


def test_the_gateway_reaching_into_a_service_is_caught() -> None:
    assert list(gateway_reaches_in(parse("gateway.routes.x",
                                         "from services.ranker.serving import service")))
    assert not list(gateway_reaches_in(parse(
        "gateway.routes.x", "from services.ranker.workflows.promotion_contracts import Approval")))


def test_the_cli_importing_a_workflow_is_caught() -> None:
    assert list(cli_imports_workflows(parse(
        "services.cli.x", "from services.ranker.workflows.promotion import PromotionWorkflow")))
    assert not list(cli_imports_workflows(parse(
        "services.cli.x", "from services.ranker.workflows.training_contracts import TrainCfInput")))


def test_grpc_sqlalchemy_or_temporal_in_core_is_caught() -> None:
    for source in ("import grpc", "from sqlalchemy.orm import Session",
                   "from temporalio import workflow", "from juke.ranker.v1 import ranker_pb2",
                   "from services.ranker.store import repository"):
        assert list(impure_core(parse("services.ranker.core.hybrid", source))), source
    assert not list(impure_core(parse("services.ranker.core.hybrid",
                                      "import numpy\nfrom services.ranker.core import mmr")))


def test_a_parser_reaching_into_the_ranker_is_caught() -> None:
    assert list(impure_datasets(parse("services.ranker.datasets.hetrec",
                                      "from services.ranker.store import repository")))
    assert not list(impure_datasets(parse("services.ranker.datasets.hetrec", "import numpy")))


def test_io_in_a_workflow_module_is_caught() -> None:
    body = "from temporalio import workflow\n{}\n@workflow.defn\nclass W:\n    pass\n"
    for io in ("import sqlalchemy", "from services.common.db import Database",
               "from services.ranker.store import repository", "import subprocess"):
        assert list(workflow_io(parse("services.ranker.workflows.x", body.format(io)))), io
    opens = body.format("") + "def f():\n    return open('x')\n"
    assert list(workflow_io(parse("services.ranker.workflows.x", opens)))
    clean = body.format("from services.ranker.workflows.training_contracts import TrainCfInput")
    assert not list(workflow_io(parse("services.ranker.workflows.x", clean)))
