"""Appends wake the loops of the server's other processes: a datagram per committed append."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from dockyard.server.actor import Actor
from dockyard.server.events import EventLog, Peers
from dockyard.server.store import open_database

ROOT = Actor.system("test")


class Heard:
    """The types a process was told of, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.arrived = threading.Event()

    def __call__(self, type: str) -> None:
        self.types.append(type)
        self.arrived.set()


def test_an_append_in_one_process_wakes_the_loops_of_the_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/meta.db"
    db = open_database(url)
    here, there = EventLog(db), EventLog(db)  # two server processes' logs over one database
    peers_here, peers_there = Peers(url, here.notify), Peers(url, there.notify)
    elsewhere_heard = Heard()
    elsewhere = Peers(f"sqlite:///{tmp_path}/other.db", elsewhere_heard)  # another database
    here.wake_peers(peers_here)
    there.wake_peers(peers_there)
    heard_here, heard_there = Heard(), Heard()
    here.on_append(heard_here)
    there.on_append(heard_there)
    try:
        with db.write() as conn:
            here.append(conn, ROOT, "job.status_changed", "job", "j1", scope="jobs")
            assert not heard_there.arrived.is_set()  # not before the commit
        assert heard_there.arrived.wait(5)
        assert heard_there.types == ["job.status_changed"]
        assert heard_here.types == ["job.status_changed"]  # its own, once: not echoed back
        assert elsewhere_heard.types == []
        # A process that went away is skipped without a fuss.
        peers_there.stop()
        with db.write() as conn:
            here.append(conn, ROOT, "job.status_changed", "job", "j2", scope="jobs")
        assert heard_here.types == ["job.status_changed"] * 2
    finally:
        peers_here.stop()
        elsewhere.stop()
        db.dispose()


def test_a_burst_of_appends_is_told_in_few_wakes_the_last_after_the_last_commit(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/meta.db"
    db = open_database(url)
    here, there = EventLog(db), EventLog(db)
    peers_here, peers_there = Peers(url, here.notify), Peers(url, there.notify)
    here.wake_peers(peers_here)
    arrivals: list[float] = []
    arrived = threading.Event()

    def heard(type: str) -> None:
        arrivals.append(time.monotonic())
        arrived.set()

    there.on_append(heard)
    try:
        last_began = 0.0
        for i in range(100):  # a client logging a metric per call
            last_began = time.monotonic()
            with db.write() as conn:
                here.append(conn, ROOT, "run.logged", "run", f"r{i}", scope="runs")
        # The burst ends with a wake sent after its last append: a reader woken then reads all.
        while True:
            arrived.clear()
            if arrivals and arrivals[-1] >= last_began:
                break
            assert arrived.wait(5), "no wake after the last append"
        assert len(arrivals) < 100
    finally:
        peers_here.stop()
        peers_there.stop()
        db.dispose()
