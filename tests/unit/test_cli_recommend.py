"""`juke recommend` without I/O: the parser, seed names, the table and the JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import pytest

from juke.common.v1 import common_pb2
from juke.ranker.v1 import ranker_pb2 as rpb
from services.cli import main as cli_main
from services.cli.recommend import (
    BadSeed,
    Hit,
    Resolved,
    Row,
    format_table,
    print_result,
    resolve_seeds,
    rows_of,
    run_recommend,
)
from services.common.config import Settings

TRACK = common_pb2.RESOURCE_TYPE_TRACK


class _Lookup:
    """identity as the CLI sees it: two refs, and names searched with exactness scores."""

    def __init__(self, hits: dict[str, list[Hit]]) -> None:
        self.hits = hits
        self.searched: list[str] = []

    def resolve(self, refs: Sequence[str]) -> dict[str, Resolved]:
        known = {"juke:track:t1": "t1", "mbid-of-t2": "t2"}
        # The wording of an error decides nothing: only the structured `is_name` does.
        return {r: Resolved(known[r]) if r in known else
                Resolved(None, "no such reference", is_name=" " in r or r.isalpha())
                for r in refs}

    def search(self, name: str) -> list[Hit]:
        self.searched.append(name)
        return self.hits.get(name, [])


def _hit(juke_id: str, name: str, score: float) -> Hit:
    return Hit(juke_id, name, "track", f"juke:track:{juke_id}", score)


def test_ids_pass_and_names_must_match_exactly_one_resource() -> None:
    lookup = _Lookup({"hell": [_hit("t9", "hell", 1.0), _hit("t8", "hell again", 0.6)],
                      "hr": [_hit("t5", "hr3 a", 1.0), _hit("t6", "hr3 b", 1.0)]})
    assert resolve_seeds(lookup, ["juke:track:t1", " mbid-of-t2 ", "hell", ""]) == [
        "t1", "t2", "t9"]
    assert lookup.searched == ["hell"]
    with pytest.raises(BadSeed, match=r"'hr' matches 2 resources.*\n  juke:track:t5  hr3 a"):
        resolve_seeds(lookup, ["hr"])
    with pytest.raises(BadSeed, match="'nothing' matches no catalog resource"):
        resolve_seeds(lookup, ["nothing"])
    with pytest.raises(BadSeed, match="seed 'spotify:zz': no such reference"):
        resolve_seeds(lookup, ["spotify:zz"])


def _result() -> rpb.RecommendResult:
    def item(juke_id: str, name: str, final: float, content: float, meta: float,
             cooc: float) -> rpb.RecommendedItem:
        return rpb.RecommendedItem(
            resource=common_pb2.ResourceSummary(type=TRACK, juke_id=juke_id, name=name,
                                                uri=f"juke:track:{juke_id}"),
            final_score=final, content_score=content, metadata_score=meta,
            cooccurrence_score=cooc)

    return rpb.RecommendResult(
        items=[item("a1", "Lithium", 0.91234, 0.5, 1.0, 0.0),
               item("b2", "A very long track name that goes on and on and on", 0.4, 0, 0.25,
                    1.0)],
        seeds=[common_pb2.ResourceSummary(type=TRACK, juke_id="s1", name="Teen Spirit",
                                          uri="juke:track:s1")],
        bundle=rpb.ModelBundle(weight_config_id="wc", w_content=0.2, w_metadata=0.3,
                               w_cooccurrence=0.5, lambda_mmr=0.7, embedding_model="m@1"),
        empty_signals=["content"])


def test_table_has_rank_name_type_scores_and_uri() -> None:
    rows = rows_of(_result())
    assert rows[0] == Row(1, "Lithium", "track", 0.91234, 0.5, 1.0, 0.0, "juke:track:a1")
    lines = format_table(rows)
    assert lines[0].split() == ["rank", "name", "type", "final", "content", "metadata",
                                "cooccurrence", "uri"]
    assert lines[1] == ("   1  Lithium" + " " * 33 + "  track  0.9123   0.5000    1.0000"
                        "        0.0000  juke:track:a1")
    assert "A very long track name that goes on and…  track  0.4000" in lines[2]
    assert len({len(line) for line in lines[1:]}) == 1  # the columns line up


def test_text_and_json_output() -> None:
    text = io.StringIO()
    print_result(_result(), "offline", False, text)
    out = text.getvalue().splitlines()
    assert out[:2] == ["source: offline", "seeds: Teen Spirit (juke:track:s1)"]
    assert "embedding m@1, co-occurrence none, weights content 0.20 / metadata 0.30 / " \
           "co-occurrence 0.50, lambda 0.70" in out[2]
    assert out[3] == "empty signals: content"
    as_json = io.StringIO()
    print_result(_result(), "offline", True, as_json)
    body = json.loads(as_json.getvalue())
    assert [i["uri"] for i in body["items"]] == ["juke:track:a1", "juke:track:b2"]
    assert body["items"][0]["final_score"] == pytest.approx(0.91234)
    assert body["model_bundle"]["weights"]["cooccurrence"] == pytest.approx(0.5)


def test_parser_takes_names_profiles_and_plural_types() -> None:
    args = cli_main.build_parser().parse_args([
        "recommend", "--seeds", "hr3-hell", "juke:track:t1", "--profile", "p1",
        "--profile", "p2", "--types", "tracks", "artist", "--limit", "3", "--offline",
        "--json"])
    assert args.seeds == ["hr3-hell", "juke:track:t1"] and args.profile == ["p1", "p2"]
    assert args.types == ["tracks", "artist"] and args.limit == 3
    assert args.offline and args.json and callable(args.func)
    with pytest.raises(SystemExit):
        cli_main.build_parser().parse_args(["recommend", "--types", "songs"])


def test_no_seeds_and_no_profile_exit_2() -> None:
    args = cli_main.build_parser().parse_args(["recommend", "--seeds", " "])
    err = io.StringIO()
    assert run_recommend(Settings.from_env({}), args, io.StringIO(), err) == 2
    assert "give --seeds, --profile or both" in err.getvalue()
