"""Internal tokens of the gRPC services: `juke internal-tokens create`, and the development
token `juke up` configures when JUKE_INTERNAL_AUTH is on but no caller tokens are."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from services.cli.keys import print_issued, write_private
from services.common.config import Settings
from services.common.credentials import new_secret
from services.common.internal_auth import (
    DEV_ENTRIES_FILE,
    DEV_TOKEN_FILE,
    caller_entry,
)

DEV_CALLER = "juke-dev"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tokens = subparsers.add_parser("internal-tokens",
                                   help="tokens the components present to the gRPC services")
    sub = tokens.add_subparsers(dest="internal_tokens_command", metavar="COMMAND",
                                required=True)
    create = sub.add_parser(
        "create", help="print a new random token (once) and its caller:sha256 entry")
    create.add_argument("--caller", required=True,
                        help="the component presenting it (gateway, ranker, ranker-worker, "
                             "embedder-worker, juke-cli, ...)")
    create.set_defaults(func=cmd_create)


def cmd_create(args: argparse.Namespace) -> int:
    return print_issued(
        "juke internal-tokens create", new_secret(),
        lambda token: caller_entry(args.caller, token),
        lambda token, entry: (
            f"internal token for {args.caller}; shown only now, give it to that component as "
            f"JUKE_INTERNAL_TOKEN:\n  {token}\n"
            "Configure the services with this entry (only the token's SHA-256): append it to "
            "JUKE_INTERNAL_TOKENS (comma separated) or as a line of JUKE_INTERNAL_TOKENS_FILE, "
            f"then restart them:\n  {entry}"))


def dev_token_paths(settings: Settings) -> tuple[Path, Path]:
    """($JUKE_HOME/internal-tokens: the entry, $JUKE_HOME/internal-token: the token)."""
    return settings.home / DEV_ENTRIES_FILE, settings.home / DEV_TOKEN_FILE


def ensure_dev_token(settings: Settings) -> tuple[Path, Path]:
    """The development token every component of a local mesh presents and accepts: made
    once, kept across `juke up`s (CLI commands find it in $JUKE_HOME by themselves)."""
    entries, plain = dev_token_paths(settings)
    if not entries.exists() or not plain.exists():
        token = new_secret()
        settings.home.mkdir(parents=True, exist_ok=True)
        write_private(plain, token + "\n")
        write_private(entries, "# made by `juke up`: the development internal token "
                               f"(plain token in {plain})\n"
                               f"{caller_entry(DEV_CALLER, token)}\n")
    return entries, plain


def internal_tokens_env(settings: Settings, env: dict[str, str], out: TextIO) -> dict[str, str]:
    """The children's environment `env`, with a development token when JUKE_INTERNAL_AUTH
    is on and neither JUKE_INTERNAL_TOKENS nor JUKE_INTERNAL_TOKENS_FILE is set."""
    if not settings.internal_auth or settings.internal_tokens.strip() \
            or settings.internal_tokens_file:
        return env
    if settings.environment == "production":
        print("JUKE_INTERNAL_AUTH is on but no caller tokens are configured "
              "(JUKE_INTERNAL_TOKENS, JUKE_INTERNAL_TOKENS_FILE): the services will refuse "
              "every call; make tokens with `juke internal-tokens create`", file=out)
        return env
    entries, plain = ensure_dev_token(settings)
    children = {k: v for k, v in env.items() if k != "JUKE_INTERNAL_TOKEN"}
    children.update(JUKE_INTERNAL_TOKENS_FILE=str(entries), JUKE_INTERNAL_TOKEN_FILE=str(plain))
    print(f"internal auth: no caller tokens configured, so every component presents and "
          f"accepts the development token in {plain} (JUKE_INTERNAL_TOKENS or "
          "JUKE_INTERNAL_TOKENS_FILE replace it)", file=out, flush=True)
    return children


__all__ = ["ensure_dev_token", "internal_tokens_env", "register"]
