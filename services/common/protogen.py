"""Regenerate (or check) the Python code for every .proto under protos/.

    python -m services.common.protogen          # write generated code in place
    python -m services.common.protogen --check  # exit 1 when the checked-in code is stale
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[2] / "protos"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.glob("juke/**/*.proto"))


def generate(out_dir: Path, root: Path = PROTO_ROOT) -> None:
    """Run protoc (from grpcio-tools) over all protos into out_dir, adding __init__.py files."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(root)) for p in proto_files(root)]
    args = [
        "protoc",
        f"-I{root}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in {(out_dir / f).parent for f in files}:
        current = package_dir
        while current != out_dir:
            (current / "__init__.py").touch()
            current = current.parent


def generated_files(root: Path) -> set[Path]:
    found = {p.relative_to(root) for s in GENERATED_SUFFIXES for p in root.glob(f"juke/**/*{s}")}
    return found | {p.relative_to(root) for p in root.glob("juke/**/__init__.py")}


def stale_files(root: Path = PROTO_ROOT) -> list[str]:
    """Names of generated files that differ from a fresh generation (empty = up to date)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root, root)
        fresh, current = generated_files(fresh_root), generated_files(root)
        stale = sorted(str(p) for p in fresh ^ current)
        for rel in sorted(fresh & current):
            if not filecmp.cmp(fresh_root / rel, root / rel, shallow=False):
                stale.append(str(rel))
        return stale


def write_in_place(root: Path = PROTO_ROOT) -> None:
    for rel in generated_files(root):
        (root / rel).unlink()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), root)
        for rel in generated_files(Path(tmp)):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / rel, root / rel)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated protobuf code (run `make protos`):", *stale, sep="\n  ")
            return 1
        print("generated protobuf code is up to date")
        return 0
    write_in_place()
    print(f"generated Python for {len(proto_files())} proto files under {PROTO_ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
