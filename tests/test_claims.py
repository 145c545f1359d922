"""Claims: concurrent evaluations of one board never play a game twice, never pass a target, and
recover the games of a killed one (pipeline.evaluate.claims)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from conftest import REPO, fake_snapshot, run_module

from pipeline.evaluate.claims import Lease, free_ranges, lease_is_live, recorded_ranges, taken_count
from pipeline.infra import tables
from pipeline.infra.layout import Layout

PAIRS = [("a", "b"), ("b", "a"), ("a", "c"), ("c", "a")]


def _rows(pair, first, games, black_wins=0, game_start=True):
    return pd.DataFrame({
        "board_size": [3], "black": [pair[0]], "white": [pair[1]], "games": [games],
        "black_wins": [black_wins], "white_wins": [games - black_wins],
        "black_nodes": pd.array([None], dtype="Int64"),
        "white_nodes": pd.array([None], dtype="Int64"),
        "game_start": pd.array([first if game_start else None], dtype="Int64"),
    })  # fmt: skip


def test_free_ranges_by_hand():
    assert free_ranges([], 16) == [(0, 16)]
    assert free_ranges([(0, 8)], 16) == [(8, 8)]
    assert free_ranges([(8, 8)], 16) == [(0, 8)]
    assert free_ranges([(0, 4), (8, 4)], 16) == [(4, 4), (12, 4)]
    assert free_ranges([(0, 4), (2, 10)], 16) == [(12, 4)]  # overlapping ranges merge
    assert free_ranges([(0, 20)], 16) == []  # past the target: nothing, never negative
    assert taken_count([(0, 4), (2, 10), (20, 1)]) == 13


def test_rows_from_before_claims_are_numbered_in_file_order():
    legacy = pd.concat([_rows(("a", "b"), None, 8, game_start=False),
                        _rows(("b", "a"), None, 8, game_start=False),
                        _rows(("a", "b"), None, 4, game_start=False),
                        _rows(("a", "b"), 12, 8)])  # fmt: skip
    ranges = recorded_ranges(tables.normalise_matches(legacy))
    assert ranges == {("a", "b"): [(0, 8), (8, 4), (12, 8)], ("b", "a"): [(0, 8)]}


def test_a_second_lease_gets_only_what_is_left_and_a_dead_ones_games_return(tmp_path):
    first, second = Lease(tmp_path, 3), Lease(tmp_path, 3)
    assert first.claim(targets={("a", "b"): 16}) == {("a", "b"): [(0, 16)]}
    assert second.claim(targets={("a", "b"): 16, ("b", "a"): 4}) == {("b", "a"): [(0, 4)]}
    assert first.record(_rows(("a", "b"), 0, 8)) == 8  # half recorded, [8, 16) still claimed
    assert second.claim(targets={("a", "b"): 24}) == {("a", "b"): [(16, 8)]}
    # the first lease dies with [8, 16) unrecorded: its games are free again, same numbers
    claims = json.loads(Layout(tmp_path).board(3).claims.read_text())
    claims["leases"][first.token]["heartbeat"] = time.time() - 10 * first.lease_s
    Layout(tmp_path).board(3).claims.write_text(json.dumps(claims))
    third = Lease(tmp_path, 3)
    assert third.claim(targets={("a", "b"): 24}) == {("a", "b"): [(8, 8)]}
    # if the first comes back, its rows for games now claimed by another are dropped
    assert first.record(_rows(("a", "b"), 8, 8)) == 0
    assert third.record(_rows(("a", "b"), 8, 8)) == 8
    played = tables.games_played(tables.read_matches(tmp_path, 3))
    assert played == {("a", "b"): 16}


def test_extra_counts_everyone_s_claims_and_a_budget_claims_whole_pairs(tmp_path):
    first, second = Lease(tmp_path, 3), Lease(tmp_path, 3)
    first.claim(targets={("a", "b"): 8})
    assert second.claim(extra={("a", "b"): 8}) == {("a", "b"): [(8, 8)]}
    targets = {("a", "c"): 6, ("b", "c"): 6, ("c", "a"): 6}
    assert first.free_games(targets) == 18
    assert first.claim(targets=targets, budget=5) == {("a", "c"): [(0, 6)]}
    assert second.claim(targets=targets, budget=7) == {("b", "c"): [(0, 6)], ("c", "a"): [(0, 6)]}
    assert first.claim(targets=targets, budget=5) == {}


def test_a_lease_is_dead_when_stale_or_its_pid_is_gone():
    host, now = socket.gethostname(), time.time()
    alive = {"host": host, "pid": os.getpid(), "heartbeat": now}
    assert lease_is_live(alive, 60.0, now)
    assert not lease_is_live(dict(alive, heartbeat=now - 61), 60.0, now)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not lease_is_live(dict(alive, pid=gone.pid), 60.0, now)
    assert lease_is_live(dict(alive, host="elsewhere", pid=gone.pid), 60.0, now)


# A process that evaluates board 3 with a fake engine, as `play_claimed` does: claims a portion
# of at least 8 games at a time towards `target` games of every pair, plays each claimed range in
# chunks of 4 (results a function of the pair and game numbers only) and records each chunk; it
# prints "claimed" after its first claim and, given a `hold` file, waits for it to exist then;
# with `hang`, it stops for ever after its first record. It ends by printing the games it
# recorded.
WORKER = textwrap.dedent("""
    import os, sys, time, zlib
    import pandas as pd
    from pipeline.evaluate.claims import Lease
    root, target, hold, hang = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    pairs = [("a", "b"), ("b", "a"), ("a", "c"), ("c", "a")]
    recorded, first_claim = 0, True
    with Lease(root, 3, lease_s=30.0) as lease:
        while claimed := lease.claim(targets={p: target for p in pairs}, budget=8):
            if first_claim:
                print("claimed", flush=True)
                while hold != "-" and not os.path.exists(hold):
                    time.sleep(0.05)
                first_claim = False
            for (black, white), ranges in sorted(claimed.items()):
                for first, games in ranges:
                    for start in range(first, first + games, 4):
                        n = min(4, first + games - start)
                        wins = zlib.crc32(f"{black}{white}{start}".encode()) % (n + 1)
                        recorded += lease.record(pd.DataFrame({
                            "board_size": [3], "black": [black], "white": [white],
                            "games": [n], "black_wins": [wins], "white_wins": [n - wins],
                            "black_nodes": pd.array([None], dtype="Int64"),
                            "white_nodes": pd.array([None], dtype="Int64"),
                            "game_start": pd.array([start], dtype="Int64")}))
                        if hang == "hang":
                            print("recorded", flush=True)
                            time.sleep(600)
    print(f"recorded {recorded}", flush=True)
""")


def _worker(root, target, hold="-", hang="no"):
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), str(target), str(hold), hang],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _recorded(worker) -> int:
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0
    return int(out.strip().splitlines()[-1].split()[-1])


def _check_exact(root, target):
    matches = tables.read_matches(root, 3)
    for pair, ranges in recorded_ranges(matches).items():
        numbers = [n for first, games in ranges for n in range(first, first + games)]
        assert sorted(numbers) == list(range(target)), pair  # disjoint, covering [0, target)
    assert tables.games_played(matches) == {pair: target for pair in PAIRS}
    return matches


def test_two_processes_split_the_games_exactly(tmp_path):
    """The first holds its first portion while the second runs: both play, together exactly
    the target, and the games are those one process alone plays."""
    hold = tmp_path / "go"
    first = _worker(tmp_path, 16, hold=hold)
    assert first.stdout.readline().strip() == "claimed"
    second = _worker(tmp_path, 16)
    played_second = _recorded(second)
    hold.touch()
    played_first = _recorded(first)
    assert played_first > 0 and played_second > 0
    assert played_first + played_second == 16 * len(PAIRS)
    matches = _check_exact(tmp_path, 16)
    assert json.loads(Layout(tmp_path).board(3).claims.read_text()) == {"leases": {}}
    alone = tmp_path / "alone"
    assert _recorded(_worker(alone, 16)) == 16 * len(PAIRS)
    key = ["black", "white", "game_start", "games", "black_wins"]
    both = matches[key].sort_values(key).reset_index(drop=True)
    one = _check_exact(alone, 16)[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(both, one)


def test_a_killed_evaluation_loses_nothing_and_a_rerun_ends_exact(tmp_path):
    hung = _worker(tmp_path, 16, hang="hang")
    assert hung.stdout.readline().strip() == "claimed"
    assert hung.stdout.readline().strip() == "recorded"
    os.kill(hung.pid, signal.SIGKILL)
    hung.wait(timeout=30)
    kept = tables.games_played(tables.read_matches(tmp_path, 3))
    assert sum(kept.values()) == 4  # its first batch is kept, the rest of its claim is not lost
    assert _recorded(_worker(tmp_path, 16)) == 16 * len(PAIRS) - 4  # dead pid: free at once
    _check_exact(tmp_path, 16)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    root = tmp_path_factory.mktemp("claims")
    for index in range(2):
        fake_snapshot(root, index, run="b3-w4-d1-claims", width=4, depth=1)
    return root


def test_two_concurrent_evaluations_end_at_the_target_with_no_copied_batch(snapshots):
    """Two `python -m pipeline.evaluate` on one board at once: every ordered pair ends with
    exactly the planned games, and no game number is played twice."""
    args = [
        "board.size=3", "eval.games_per_pair=16", "eval.reference_nodes=1",
        "eval.node_variants=[]", "eval.anchors.eps=[]", "eval.progress=false", "eval.elo=false",
        "eval.batch.max_pairs_per_call=2", "eval.batch.max_games_per_call=8",
        f"results_dir={snapshots}",
    ]  # fmt: skip
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen([sys.executable, "-m", "pipeline.evaluate", *args], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    matches = tables.read_matches(snapshots, 3)
    played = tables.games_played(matches)
    assert played and set(played.values()) == {8}  # 16 per unordered pair, 8 per colour
    for pair, ranges in recorded_ranges(matches).items():
        numbers = sorted(n for first, games in ranges for n in range(first, first + games))
        assert numbers == list(range(8)), pair
    # a rerun plays nothing: the target is met
    again = run_module("pipeline.evaluate", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert tables.games_played(tables.read_matches(snapshots, 3)) == played
