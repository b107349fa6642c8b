"""The search's results, in SQLite: one row per (architecture, stage, seed), written as
each candidate finishes, so a killed search loses only the candidates in flight and a new
run with the same output folder picks up where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    architecture TEXT NOT NULL,
    stage TEXT NOT NULL,          -- proxy, final or reference
    steps INTEGER NOT NULL,
    parameters INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    loss REAL NOT NULL,           -- total validation loss: what the search minimizes
    validation TEXT NOT NULL,     -- every validation loss, JSON
    seconds REAL NOT NULL,        -- training time, CPU seconds
    seed INTEGER NOT NULL,
    PRIMARY KEY (architecture, stage, seed)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- what a resumed search must not redo or decide differently: latencies, finalists
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Result:
    architecture: str
    stage: str
    steps: int
    parameters: int
    latency_ms: float
    loss: float
    validation: dict
    seconds: float
    seed: int = 0


class ResultStore:
    def __init__(self, path: Path):
        self.path = path
        self.connection = sqlite3.connect(path)
        self.connection.executescript(SCHEMA)

    def check_settings(self, settings: dict) -> None:
        """Results are only comparable under one set of settings: refuse to mix."""
        stored = dict(self.connection.execute("SELECT key, value FROM settings").fetchall())
        wanted = {key: json.dumps(value, sort_keys=True) for key, value in settings.items()}
        if stored and stored != wanted:
            changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
            raise ValueError(
                f"{self.path} holds a search with other settings ({', '.join(changed)}); "
                "use another output folder or the same settings"
            )
        with self.connection:
            self.connection.executemany("INSERT OR REPLACE INTO settings VALUES (?, ?)", wanted.items())

    def add(self, result: Result) -> None:
        with self.connection:  # one transaction per result: committed before the next starts
            self.connection.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result.architecture,
                    result.stage,
                    result.steps,
                    result.parameters,
                    result.latency_ms,
                    result.loss,
                    json.dumps(result.validation),
                    result.seconds,
                    result.seed,
                ),
            )

    def results(self, stage: str | None = None) -> list[Result]:
        query = "SELECT * FROM results" + (" WHERE stage = ?" if stage else "") + " ORDER BY rowid"
        rows = self.connection.execute(query, (stage,) if stage else ()).fetchall()
        return [
            Result(a, s, st, p, lat, loss, json.loads(v), sec, seed) for a, s, st, p, lat, loss, v, sec, seed in rows
        ]

    def get_state(self, key: str):
        row = self.connection.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def states(self, prefix: str) -> dict:
        """Every state whose key starts with `prefix`, by key."""
        rows = self.connection.execute(
            "SELECT key, value FROM state WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {key: json.loads(value) for key, value in rows.fetchall()}

    def set_state(self, key: str, value) -> None:
        with self.connection:
            self.connection.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, json.dumps(value)))

    def done(self, stage: str) -> set[tuple[str, int]]:
        """(architecture, seed) of each result of `stage`."""
        return {(r.architecture, r.seed) for r in self.results(stage)}
