"""Two ``MatchService`` objects on one index folder stand for two processes
(``kejie serve --workers 2``): queries in one never wait for reading the
other's save; writers always change the newest save."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from kejie.match_service import MatchService
from kejie.settings import Settings
from matcher.errors import IndexOutOfDate
from matcher.index import CandidateIndex
from matcher.snapshot import Snapshot
from tests.factories import make_expert

QUERY = "工业互联网平台智能制造"


class _Gate:
    """Holds ``api``'s background reloads once they have read the files (outside
    the folder's lock, so writers go on) until ``release``; counts the reads and,
    with ``fail``, makes them fail as a half-written save would."""

    def __init__(self, api: MatchService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inner: Callable[[Path], CandidateIndex] = api.indexes._load
        api.indexes._load = self._load
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.fail = False
        real_warm = Snapshot.warm

        def warm(snap: Snapshot, like: Snapshot | None = None) -> Snapshot:
            if threading.current_thread().name.startswith("kejie-reload"):
                self.entered.set()
                assert self.release.wait(30), "the test never released the reload"
            return real_warm(snap, like)

        monkeypatch.setattr(Snapshot, "warm", warm)

    def _load(self, directory: Path) -> CandidateIndex:
        self.calls += 1
        if self.fail and threading.current_thread().name.startswith("kejie-reload"):
            raise IndexOutOfDate("读到一半的索引")
        return self.inner(directory)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def two(session: Session, settings: Settings, tiny_encoder) -> tuple[MatchService, MatchService]:  # type: ignore[no-untyped-def]
    make_expert(session, name="李中医", research_areas=["中医药治疗脑卒中", "针灸推拿"], disciplines=["中医学"])
    make_expert(session, name="王海洋", research_areas=["海水养殖病害防控", "大黄鱼育种"], disciplines=["水产"])
    session.commit()
    api, other = MatchService(settings, encoder=tiny_encoder), MatchService(settings, encoder=tiny_encoder)
    api.sync(session, ["expert"])
    assert api.match_text(QUERY, "expert", top_k=1)[0].name != "新专家"
    return api, other


def _names(svc: MatchService) -> list[str]:
    return [m.name for m in svc.match_text(QUERY, "expert", top_k=3)]


def _new_expert_by(writer: MatchService, session: Session, name: str = "新专家",
                   areas: tuple[str, ...] = ("工业互联网平台", "智能制造")):  # type: ignore[no-untyped-def]
    """A new expert, written and saved by ``writer`` (which reads the newest save first)."""
    expert = make_expert(session, name=name, research_areas=list(areas))
    session.commit()
    writer.refresh(session, "expert", [expert.id])
    return expert


def test_a_query_answers_from_its_copy_while_another_save_is_read(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, other = two
    gate = _Gate(api, monkeypatch)
    before = _names(api)
    _new_expert_by(other, session)  # another process's write and save

    answers: list[list[str]] = []
    t0 = time.monotonic()
    reader = threading.Thread(target=lambda: answers.append(_names(api)))
    reader.start()
    reader.join(20)
    waited = time.monotonic() - t0
    assert gate.entered.wait(10), "no reload was started"  # it reads the files first
    gate.release.set()
    assert answers == [before]  # the copy it had, while the reload was held up
    assert waited < api.indexes.reload_wait + 5
    api.indexes.wait_for_reloads()
    assert _names(api)[0] == "新专家"  # the reloaded copy, once it was ready
    assert gate.calls == 1


def test_a_small_reload_is_seen_by_the_next_query(session: Session, two) -> None:  # type: ignore[no-untyped-def]
    api, other = two
    api.indexes.reload_wait = 30.0  # a loaded CI machine must not make this flaky
    _new_expert_by(other, session)
    assert _names(api)[0] == "新专家"


def test_a_writer_changes_the_newest_save_and_a_late_reload_is_dropped(  # type: ignore[no-untyped-def]
        session: Session, two, settings: Settings, tiny_encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    api, other = two
    gate = _Gate(api, monkeypatch)
    first = _new_expert_by(other, session)
    _names(api)  # starts the background reload, held at the gate
    assert gate.entered.wait(10)
    second = _new_expert_by(api, session, "后来的专家", ("工业互联网平台安全", "智能制造"))
    gate.release.set()
    api.indexes.wait_for_reloads()
    held = api.index("expert")
    assert str(first.id) in held and str(second.id) in held  # not the reload's older copy
    third = MatchService(settings, encoder=tiny_encoder).index("expert")
    assert str(first.id) in third and str(second.id) in third  # both writes are in the files


def test_an_unreadable_save_keeps_the_copy_and_is_not_read_again(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, other = two
    gate = _Gate(api, monkeypatch)
    gate.fail = True
    before = _names(api)
    new = _new_expert_by(other, session)
    gate.release.set()
    _names(api)
    api.indexes.wait_for_reloads()
    assert _names(api) == before and gate.calls == 1  # no second try of the same save
    gate.fail = False
    other.refresh(session, "expert", [new.id])  # unchanged: nothing saved, still the same save
    _new_expert_by(other, session, "又一位专家", ("海水养殖",))  # a newer save is read
    api.indexes.reload_wait = 30.0
    assert _names(api)[0] == "新专家"


def test_no_query_waits_once_a_reload_took_longer_than_the_wait(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, other = two
    api.indexes.reload_wait = 1.0
    gate = _Gate(api, monkeypatch)
    _new_expert_by(other, session)
    t0 = time.monotonic()
    _names(api)  # waits the whole second for the held reload, then answers from its copy
    assert time.monotonic() - t0 >= 1.0
    gate.release.set()
    api.indexes.wait_for_reloads()
    assert _names(api)[0] == "新专家"

    gate.release.clear()
    gate.entered.clear()
    second = _new_expert_by(other, session, "后来的专家", ("海水养殖病害",))
    t0 = time.monotonic()
    _names(api)  # the last reload took over a second: this query does not wait
    waited = time.monotonic() - t0
    assert gate.entered.wait(10)
    gate.release.set()
    assert waited < 1.0
    api.indexes.wait_for_reloads()
    assert str(second.id) in api.index("expert")


def test_a_large_index_is_not_waited_for_even_at_its_first_reload(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    import kejie.loaded_indexes as loaded

    api, other = two
    monkeypatch.setattr(loaded, "WAIT_UP_TO_ROWS", 1)  # the two experts count as a large index
    api.indexes.reload_wait = 5.0
    gate = _Gate(api, monkeypatch)
    _new_expert_by(other, session)
    t0 = time.monotonic()
    _names(api)
    waited = time.monotonic() - t0
    gate.release.set()
    assert gate.entered.wait(10) and waited < 5.0
    api.indexes.wait_for_reloads()
    assert _names(api)[0] == "新专家"


def test_a_save_that_lands_during_a_reload_is_read_after_it(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, other = two
    gate = _Gate(api, monkeypatch)
    first = _new_expert_by(other, session)
    _names(api)  # starts reading that save, held at the gate
    assert gate.entered.wait(10)
    second = _new_expert_by(other, session, "后来的专家", ("海水养殖病害",))  # a newer save meanwhile
    _names(api)  # one reload at a time: none started beside the held one
    assert gate.calls == 1
    gate.release.set()
    api.indexes.wait_for_reloads()
    api.indexes.reload_wait = 30.0
    _names(api)  # the newer save is read now
    api.indexes.wait_for_reloads()
    held = api.index("expert")
    assert str(first.id) in held and str(second.id) in held


def test_ngrams_fitted_afresh_after_a_write_are_saved_for_the_other_processes(session: Session, two) -> None:  # type: ignore[no-untyped-def]
    from matcher.lexical_files import load_char

    api, other = two
    directory = api.index_dir("expert")
    new = _new_expert_by(api, session)  # one row of three: past REFIT_SHARE, fitted afresh
    snap = api.index("expert").snapshot()
    assert snap.char_ngrams.stale_rows == 0 and str(new.id) in snap.row_of
    saved = load_char(directory)
    assert saved is not None and saved.n_docs == len(snap)
    np.testing.assert_array_equal(saved.row_ids, snap.row_ids())  # the fit after the write, not before


def test_a_reload_reads_no_files_while_a_save_holds_the_folder(session: Session, two,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kejie.index_files import folder_lock

    api, other = two
    gate = _Gate(api, monkeypatch)
    gate.release.set()
    _new_expert_by(other, session)
    with folder_lock(api.index_dir("expert")):  # another save in progress
        _names(api)  # starts the reload, which waits for the lock
        time.sleep(0.5)
        assert gate.calls == 0
    api.indexes.wait_for_reloads()
    assert gate.calls == 1 and _names(api)[0] == "新专家"
