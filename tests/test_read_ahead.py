"""S3 objects are read ahead on threads: in order, never more than ``depth`` ahead, errors in
their turn."""

from __future__ import annotations

import threading
import time

import pytest

from bedrock_finops.sources import read_ahead as ra
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.sources.source_errors import SourceError, UnreadableObject


def _s3(i: int) -> Unit:
    return Unit("s3", f"k{i}", f"p/k{i}", bucket="b")


class _Reads:
    """A stand-in for ``s3_unit_bytes`` that counts reads started and reads at once."""

    def __init__(self, delay_s: float = 0.01, fail: dict[str, Exception] | None = None):
        self.delay_s = delay_s
        self.fail = fail or {}
        self.started: list[str] = []
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def __call__(self, unit: Unit, client) -> bytes:
        assert client == "shared-client"  # made once, before the threads start
        with self.lock:
            self.started.append(unit.name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(self.delay_s)
        with self.lock:
            self.running -= 1
        if unit.name in self.fail:
            raise self.fail[unit.name]
        return unit.name.encode()


@pytest.fixture
def reads(monkeypatch):
    fake = _Reads()
    monkeypatch.setattr(ra, "s3_unit_bytes", fake)
    monkeypatch.setattr(ra, "process_s3_client", lambda endpoint, region: "shared-client")
    return fake


def test_objects_come_back_in_order_with_their_bytes(reads):
    units = [_s3(i) for i in range(20)]
    got = list(ra.read_ahead(units, depth=4))
    assert [u.name for u, _ in got] == [f"k{i}" for i in range(20)]
    assert [data for _, data in got] == [f"k{i}".encode() for i in range(20)]
    assert reads.most_running == 4  # reads overlapped, up to the depth


def test_never_more_than_depth_objects_ahead_of_the_parser(reads):
    units = [_s3(i) for i in range(12)]
    consumed = 0
    for _unit, _data in ra.read_ahead(units, depth=3):
        consumed += 1
        time.sleep(0.03)  # a slow parser: reads wait for room
        assert len(reads.started) <= consumed + 3
    assert consumed == 12


def test_files_and_events_are_left_to_the_parser_in_their_place(reads):
    units = [_s3(0), Unit("file", "f1", "/x/f1"), _s3(2), Unit("events", "e3"), _s3(4)]
    got = list(ra.read_ahead(units, depth=2))
    assert [(u.name, data) for u, data in got] == [
        ("k0", b"k0"),
        ("f1", None),
        ("k2", b"k2"),
        ("e3", None),
        ("k4", b"k4"),
    ]
    assert sorted(reads.started) == ["k0", "k2", "k4"]


def test_an_access_error_raises_in_its_turn(reads):
    reads.fail["k3"] = SourceError("access denied reading s3://bucket/p/k3")
    seen = []
    with pytest.raises(SourceError, match="access denied"):
        for unit, _ in ra.read_ahead([_s3(i) for i in range(8)], depth=4):
            seen.append(unit.name)
    assert seen == ["k0", "k1", "k2"]


def test_an_unreadable_object_is_handed_on_not_raised(reads, monkeypatch):
    cut = UnreadableObject("unreadable S3 object (ReadTimeoutError on 3 tries)")
    monkeypatch.setattr(
        ra, "s3_unit_bytes", lambda unit, client: cut if unit.name == "k1" else b"ok"
    )
    got = list(ra.read_ahead([_s3(i) for i in range(3)], depth=2))
    assert [data for _, data in got] == [b"ok", cut, b"ok"]


def test_an_injected_client_reads_in_order_at_parse_time(reads):
    units = [_s3(i) for i in range(5)]
    got = list(ra.read_ahead(units, client=object()))
    assert got == [(u, None) for u in units]
    assert reads.started == []


def test_listed_sizes_bound_the_bytes_read_ahead(reads, monkeypatch):
    monkeypatch.setattr(ra, "S3_READ_AHEAD_BYTES", 100)
    sizes = [30, 30, 30, 30, 250, 30, 60, 60]
    units = [Unit("s3", f"k{i}", f"p/k{i}", bucket="b", size=n) for i, n in enumerate(sizes)]
    in_flight_bytes = []
    for unit, _ in ra.read_ahead(units, depth=8):
        time.sleep(0.03)  # a slow parser: what is read ahead shows in ``started``
        # the later objects whose reads have started (threads may start two in either order)
        ahead = [name for name in reads.started if int(name[1:]) > int(unit.name[1:])]
        in_flight_bytes.append(sum(sizes[int(name[1:])] for name in ahead))
    assert sorted(reads.started) == [u.name for u in units]
    # ahead of each object parsed: 30+30+30 (a fourth 30 would pass 100), 30+30, 30; the 250
    # is over the budget, so it is read alone; 30+60 (60 more would pass 100), 60, 60, none
    assert in_flight_bytes == [90, 60, 30, 250, 90, 60, 60, 0]
    assert reads.most_running == 3


def test_an_object_that_cannot_be_read_is_its_entry_in_its_turn(monkeypatch):
    """``s3_unit_bytes`` turns a deleted object's error into its value; the reads after it go
    on and come back in order."""
    from bedrock_finops.sources import invocation_logs as logs

    gone = UnreadableObject(
        "unreadable S3 object (NoSuchKey: deleted after it was listed, e.g. by a lifecycle rule)"
    )

    def read(bucket, key, endpoint_url, region, client):
        assert client == "shared-client"
        if key == "p/k2":
            raise gone
        return key.encode()

    monkeypatch.setattr(logs, "read_s3_bytes", read)
    monkeypatch.setattr(ra, "process_s3_client", lambda endpoint, region: "shared-client")
    got = list(ra.read_ahead([_s3(i) for i in range(5)], depth=3))
    assert [(u.name, data) for u, data in got] == [
        ("k0", b"p/k0"),
        ("k1", b"p/k1"),
        ("k2", gone),
        ("k3", b"p/k3"),
        ("k4", b"p/k4"),
    ]
