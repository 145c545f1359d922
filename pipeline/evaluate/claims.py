"""Claims: which games of a board an evaluation plays, decided under the board's lock before it
plays them, so concurrent evaluations of one results directory never play a game twice and
never pass a target.

The games of an ordered pair (black, white) are numbered 0, 1, 2, …; a game's random stream
follows its number (`match_engine.pair_seed(black, white, start)` for a batch starting at game
`start`), so a game is the same whoever plays it. A number is taken when it is recorded
(`matches.parquet`, each row's `game_start` and `games`) or claimed by a live lease
(`eval/b<S>/claims.json`). `Lease.claim` takes, for each pair, the free numbers below its
target; `Lease.record` appends a batch's rows and frees its claim in one locked step, and drops
the rows of any range the lease no longer holds.

A lease is one process's entry: host, pid and a heartbeat its thread renews every lease_s / 4.
It is dead when its heartbeat is older than `lease_s` (any host) or, on the same host, when its
pid is gone; a dead lease's unrecorded claims are free again for the next planner, which plays
them with the same streams. The lock is `fcntl.flock` on `eval/b<S>/.lock`
(`tables.locked`): exclusive between processes of one host and, on Linux, between NFS clients
(NFSv4, or v3 with lockd); heartbeats across hosts assume clocks agree to well within lease_s.

Active pairing claims each round's games as `extra`: that many more than everyone has recorded
or claimed, so two concurrent active evaluations each add their rounds' games (both count
toward the same SEs), and neither waits for the other's unfinished claims (`suggest` rates
recorded games only). Plain targets are claimed about one call's worth at a time
(`budget`), so concurrent evaluations of one plan share it.

Match files recorded before claims have no `game_start`: a pair's rows are read as games
numbered in file order from 0, which is how their streams were seeded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.infra import tables
from pipeline.infra.files import CorruptFileError, atomic_write_json
from pipeline.infra.layout import Layout

Pair = tuple[str, str]
Ranges = dict[Pair, list[tuple[int, int]]]  # pair → [(first game, games)], sorted


def recorded_ranges(matches: pd.DataFrame) -> Ranges:
    """The game numbers each recorded row holds; rows without `game_start` (recorded before
    claims) continue their pair's numbering in file order."""
    out: Ranges = {}
    taken: dict[Pair, int] = {}
    for black, white, games, start in zip(
        matches["black"], matches["white"], matches["games"], matches["game_start"], strict=True
    ):
        pair, games = (black, white), int(games)
        first = taken.get(pair, 0) if pd.isna(start) else int(start)
        out.setdefault(pair, []).append((first, games))
        taken[pair] = max(taken.get(pair, 0), first + games)
    return {pair: sorted(ranges) for pair, ranges in out.items()}


def free_ranges(taken: list[tuple[int, int]], target: int) -> list[tuple[int, int]]:
    """The numbers in [0, target) outside every (first, games) range of `taken`, as ranges."""
    free, next_free = [], 0
    for first, games in sorted(taken):
        if first > next_free:
            free.append((next_free, min(first, target) - next_free))
        next_free = max(next_free, first + games)
        if next_free >= target:
            break
    if next_free < target:
        free.append((next_free, target - next_free))
    return [(first, games) for first, games in free if games > 0]


def taken_count(taken: list[tuple[int, int]]) -> int:
    """How many distinct numbers the ranges cover."""
    return sum(games for _, games in _merged(taken))


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for first, games in sorted(ranges):
        if out and first <= out[-1][0] + out[-1][1]:
            end = max(out[-1][0] + out[-1][1], first + games)
            out[-1] = (out[-1][0], end - out[-1][0])
        else:
            out.append((first, games))
    return out


def _take(held: list[tuple], played: tuple) -> tuple[list[tuple], bool]:
    """`held` (black, white, first, games) ranges less the `played` one, and whether `played`
    lay inside one of them (else `held` is returned unchanged)."""
    black, white, first, games = played
    for i, (b, w, f, n) in enumerate(held):
        if (b, w) == (black, white) and f <= first and first + games <= f + n:
            rest = [(b, w, f, first - f), (b, w, first + games, f + n - first - games)]
            return held[:i] + [r for r in rest if r[3] > 0] + held[i + 1 :], True
    return held, False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def lease_is_live(lease: dict, lease_s: float, now: float | None = None) -> bool:
    """Whether a lease entry of claims.json still holds its claims (see the module docstring)."""
    now = time.time() if now is None else now
    if now - float(lease["heartbeat"]) > lease_s:
        return False
    return lease["host"] != socket.gethostname() or _pid_alive(int(lease["pid"]))


def _read_claims(path: Path) -> dict:
    if not path.exists():
        return {"leases": {}}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data.get("leases"), dict):
            raise ValueError("no leases")
        return data
    except (ValueError, OSError) as err:
        raise CorruptFileError(
            f"unreadable claims file {path} ({err}): no evaluation of this board is running? "
            "then delete it and rerun"
        ) from None


@dataclasses.dataclass
class Lease:
    """One evaluation process's claims on one board; a context manager that starts its
    heartbeat and, on exit, frees whatever it has not recorded."""

    results_dir: str | Path
    size: int
    lease_s: float = 120.0
    token: str = dataclasses.field(default_factory=lambda: secrets.token_hex(8))

    def __post_init__(self):
        self.board = Layout(self.results_dir).board(self.size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the claims file, always read and written under the board's lock --------------------
    def _update(self, change):
        """Run `change(leases, matches)` on the live leases under the lock and write them back;
        returns what `change` returns."""
        with tables.locked(self.board.dir):
            data = _read_claims(self.board.claims)
            now = time.time()
            leases = {
                token: lease
                for token, lease in data["leases"].items()
                if token == self.token or lease_is_live(lease, self.lease_s, now)
            }
            matches = tables.read_matches(self.results_dir, self.size)
            result = change(leases, matches)
            atomic_write_json(self.board.claims, {"leases": leases})
            return result

    def _mine(self, leases: dict) -> dict:
        return leases.setdefault(
            self.token,
            {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": time.time(),
             "ranges": []},
        )  # fmt: skip

    def claim(self, targets: dict[Pair, int] | None = None, extra: dict[Pair, int] | None = None,
              budget: int | None = None, order: Callable[[Pair], Any] | None = None,
              ) -> Ranges:  # fmt: skip
        """Claim, per pair, the free game numbers below `targets[pair]`, or below the pair's
        taken count plus `extra[pair]` (new games beyond everyone's, for active rounds); with
        `budget`, whole pairs' free ranges in pair order (sorted by `order(pair)` first, e.g. so
        that pairs sharing a call's shape are claimed together) until at least `budget` games,
        so that concurrent evaluations share a plan. Returns the claimed ranges."""
        rank = (lambda item: (order(item[0]), item[0])) if order else (lambda item: item[0])

        def change(leases, matches):
            taken = self._taken(leases, matches)
            goals = dict(targets or {})
            for pair, n in (extra or {}).items():
                goals[pair] = taken_count(taken.get(pair, [])) + n
            mine, claimed, total = self._mine(leases), {}, 0
            for pair, goal in sorted(goals.items(), key=rank):
                if budget is not None and total >= budget:
                    break
                for first, games in free_ranges(taken.get(pair, []), goal):
                    mine["ranges"].append([*pair, first, games])
                    claimed.setdefault(pair, []).append((first, games))
                    total += games
            mine["heartbeat"] = time.time()
            return claimed

        return self._update(change)

    def free_games(self, targets: dict[Pair, int]) -> int:
        """How many games below `targets` no one has recorded or claimed."""

        def change(leases, matches):
            taken = self._taken(leases, matches)
            return sum(n for pair, goal in targets.items()
                       for _, n in free_ranges(taken.get(pair, []), goal))  # fmt: skip

        return self._update(change)

    @staticmethod
    def _taken(leases: dict, matches: pd.DataFrame) -> Ranges:
        taken = recorded_ranges(matches)
        for lease in leases.values():
            for black, white, first, games in lease["ranges"]:
                taken.setdefault((black, white), []).append((first, games))
        return taken

    def record(self, rows: pd.DataFrame) -> int:
        """Append `rows` (black, white, game_start, games, …: each inside a range this lease
        claimed) to the match file and free those numbers, in one locked step. Rows outside
        what the lease still holds (it was taken for dead and the games given to another) are
        dropped, so no game is counted twice. Returns the games recorded."""

        def change(leases, matches):
            mine = self._mine(leases)
            held = [tuple(r) for r in mine["ranges"]]
            keep = []
            for black, white, first, games in zip(
                rows["black"], rows["white"], rows["game_start"], rows["games"], strict=True
            ):
                held, inside = _take(held, (black, white, int(first), int(games)))
                keep.append(inside)
            mine["ranges"] = [list(r) for r in held]
            mine["heartbeat"] = time.time()
            tables.append_matches_unlocked(self.results_dir, self.size, rows[keep])
            return int(rows["games"][keep].sum())

        recorded = self._update(change)
        if recorded < int(rows["games"].sum()):
            print(
                f"warning: {int(rows['games'].sum()) - recorded} games of board {self.size} "
                "were dropped: their claim had expired and another evaluation took them"
            )
        return recorded

    def release(self) -> None:
        """Drop this lease and its unrecorded claims."""
        self._update(lambda leases, matches: leases.pop(self.token, None))

    # -- heartbeat ---------------------------------------------------------------------------
    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            self._update(lambda leases, matches: self._mine(leases).update(heartbeat=time.time()))

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._beat, daemon=True, name="claims-heartbeat")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release()
