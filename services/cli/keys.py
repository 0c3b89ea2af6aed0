"""`juke keys create`: a new gateway API key, shown once, and the entry that configures it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from services.common.config import Settings

ROLES = ("read", "write", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="gateway API keys")
    sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    create = sub.add_parser(
        "create", help="print a new random key (once) and its name:role:sha256 entry")
    create.add_argument("--name", required=True,
                        help="who uses the key (letters, digits, '.', '_', '@', '-')")
    create.add_argument("--role", required=True, choices=ROLES,
                        help="read: catalog, recommendations; write: + events, ingest; "
                             "admin: + promotions, rollback, weights")
    create.set_defaults(func=cmd_create)


def cmd_create(args: argparse.Namespace) -> int:
    from gateway.auth import Role, key_entry, new_key

    return print_issued(
        "juke keys create", new_key(),
        lambda key: key_entry(args.name, Role.parse(args.role), key),
        lambda key, entry: (
            f"API key for {args.name} ({args.role}); shown only now, store it safely:\n"
            f"  {key}\n"
            "Configure the gateway with this entry (only the key's SHA-256): append it to "
            "JUKE_API_KEYS (comma separated) or as a line of JUKE_API_KEYS_FILE, then restart "
            f"the gateway:\n  {entry}"))


def print_issued(command: str, secret: str, entry_of: Callable[[str], str],
                 message: Callable[[str, str], str]) -> int:
    """Print a new `secret` once with the entry that configures it (`message(secret,
    entry)`); exit status 2, with the reason, when the entry cannot be made."""
    try:
        entry = entry_of(secret)
    except ValueError as err:
        print(f"{command}: {err}", file=sys.stderr)
        return 2
    print(message(secret, entry))
    return 0


def dev_key_paths(settings: Settings) -> tuple[Path, Path]:
    """($JUKE_HOME/api-keys: entries, $JUKE_HOME/api-key: the development admin key)."""
    return settings.home / "api-keys", settings.home / "api-key"


def ensure_dev_key(settings: Settings) -> tuple[Path, Path]:
    """The development admin key `juke up` configures when no keys are: made once."""
    from gateway.auth import Role, key_entry, new_key

    entries, plain = dev_key_paths(settings)
    if not entries.exists():
        key = new_key()
        settings.home.mkdir(parents=True, exist_ok=True)
        write_private(plain, key + "\n")
        write_private(entries, "# made by `juke up`: the development admin key "
                               f"(plain key in {plain})\n"
                               f"{key_entry('juke-dev', Role.ADMIN, key)}\n")
    return entries, plain


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new file only its owner may read (a key or token: mode 0600)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def curl_auth(settings: Settings) -> str:
    """The curl option that sends the key: from $JUKE_HOME/api-key when `juke up` made one."""
    entries, plain = dev_key_paths(settings)
    dev = not settings.api_keys.strip() and settings.api_keys_file in (None, entries)
    key = f"$(cat {plain})" if dev and plain.exists() else "$JUKE_API_KEY"
    return f'-H "Authorization: Bearer {key}"'
