from __future__ import annotations

import threading

import pytest

from matcher.probe_threads import ProbeThreads


def _where() -> str:
    return threading.current_thread().name


def test_a_lone_query_searches_in_a_probe_thread_and_a_busy_process_inline() -> None:
    probes = ProbeThreads(threads=1)
    with probes.ranking():
        assert probes.submit(_where).result().startswith("kejie-probe")
        with probes.ranking():  # a second query in flight
            inline = probes.submit(_where)
            assert inline.done() and inline.result() == _where()
    assert probes.submit(_where).result().startswith("kejie-probe")


def test_an_error_reaches_the_reader_of_the_result_either_way() -> None:
    probes = ProbeThreads()

    def fail() -> None:
        raise ValueError("bad probe")

    with pytest.raises(ValueError, match="bad probe"):
        probes.submit(fail).result()
    with probes.ranking(), probes.ranking(), pytest.raises(ValueError, match="bad probe"):
        probes.submit(fail).result()


def test_the_count_goes_back_when_a_ranking_fails() -> None:
    probes = ProbeThreads()
    with pytest.raises(RuntimeError), probes.ranking(), probes.ranking():
        raise RuntimeError("ranking failed")
    assert probes.submit(_where).result().startswith("kejie-probe")  # nothing left in flight
