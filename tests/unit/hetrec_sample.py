"""A tiny Last.fm HetRec data set in the real layout, shared by the parser and importer tests.

LF artists (UTF-8), CRLF elsewhere, tags in ISO-8859-1, assignments split in two files with a
trailing empty line in the first.
"""

from __future__ import annotations

from pathlib import Path

TAG_HEADER = "userID\tartistID\ttagID\tday\tmonth\tyear"


def write(root: Path, name: str, lines: list[str], encoding: str = "ascii",
          end: str = "\r\n") -> Path:
    path = root / name
    path.write_bytes(end.join(lines).encode(encoding) + end.encode())
    return path


def write_sample(root: Path) -> Path:
    write(root, "artists.dat", [
        "id\tname\turl\tpictureURL",
        "1\tLegião Urbana\thttp://www.last.fm/music/Legi%C3%A3o+Urbana\thttp://x/1.jpg",
        "2\tMetallica\thttp://www.last.fm/music/Metallica\t",
        "7\tMetallica\thttp://www.last.fm/music/Metallica+(2)\thttp://x/7.jpg",
    ], encoding="utf-8", end="\n")
    write(root, "tags.dat", [
        "tagID\ttagValue", "1\tmetal", "2\tRock ", "3\tlegião urbana", "4\trock",
        "5\tthrash  metal",
    ], encoding="iso-8859-1")
    write(root, "user_taggedartists.dat", [
        TAG_HEADER,
        "10\t1\t3\t1\t4\t2009",
        "11\t1\t3\t1\t4\t2009",
        "10\t1\t2\t1\t4\t2009",
        "10\t2\t1\t1\t4\t2009",
        "",
    ])
    write(root, "user_taggedartists_2.dat", [
        TAG_HEADER,
        "11\t2\t1\t1\t5\t2009",
        "12\t2\t1\t1\t5\t2009",
        "12\t2\t5\t1\t5\t2009",
        "10\t1\t4\t1\t6\t2009",  # "rock" again from user 10 (as tag 2 "Rock "): counts once
        "13\t99\t1\t1\t6\t2009",  # an artist absent from artists.dat
    ])
    write(root, "user_artists.dat", [
        "userID\tartistID\tweight", "10\t1\t13883", "10\t2\t5", "11\t7\t1",
    ])
    write(root, "user_friends.dat", ["userID\tfriendID", "10\t11"])
    write(root, "readme.txt", ["The data is made available for non-commercial use."])
    return root
