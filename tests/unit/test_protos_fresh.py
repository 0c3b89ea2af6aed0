"""Generated protobuf code must match a fresh generation (`make protos`)."""

import shutil
from pathlib import Path

from services.common import protogen


def test_checked_in_generated_code_is_fresh() -> None:
    assert protogen.stale_files() == []


def test_a_stale_file_is_detected(tmp_path: Path) -> None:
    root = tmp_path / "protos"
    shutil.copytree(protogen.PROTO_ROOT, root)
    target = next(root.glob("juke/identity/v1/identity_pb2.py"))
    target.write_text(target.read_text() + "\n# edited by hand\n")
    (root / "juke/common/v1/common_pb2.pyi").unlink()
    assert protogen.stale_files(root) == [
        "juke/common/v1/common_pb2.pyi", "juke/identity/v1/identity_pb2.py"]
