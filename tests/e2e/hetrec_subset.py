"""A small copy of Last.fm HetRec 2011 for the e2e mesh: the first `users` users' rows.

Every file the importer and governance read is present, filtered to those users and the
artists they listened to, so the real import path runs in seconds instead of minutes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path


def _filter(source: Path, target: Path, keep: Callable[[list[str]], bool]) -> None:
    lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [lines[0], *(line for line in lines[1:] if line and keep(line.split("\t")))]
    target.write_text("\r\n".join(kept) + "\r\n", encoding="utf-8")


def write_subset(source: Path, target: Path, users: int) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    listens = (source / "user_artists.dat").read_text().splitlines()[1:]
    chosen = sorted({int(line.split("\t")[0]) for line in listens if line})[:users]
    wanted = {str(u) for u in chosen}
    artists = {line.split("\t")[1] for line in listens if line.split("\t")[0] in wanted}
    _filter(source / "user_artists.dat", target / "user_artists.dat", lambda f: f[0] in wanted)
    _filter(source / "artists.dat", target / "artists.dat", lambda f: f[0] in artists)
    _filter(source / "user_friends.dat", target / "user_friends.dat",
            lambda f: f[0] in wanted and f[1] in wanted)
    for name in ("user_taggedartists.dat", "user_taggedartists_2.dat"):
        _filter(source / name, target / name, lambda f: f[1] in artists)
    for name in ("tags.dat", "readme.txt"):
        shutil.copyfile(source / name, target / name)
    return target
