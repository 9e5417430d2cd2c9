"""The background tasks (see :mod:`kejie.jobs`): plan an event, import an upload,
sync the indexes, the nightly run, and one encoding shard. :func:`task_queue` is
the job queue with these tasks defined on it, which whoever queues a job
(:func:`enqueue`) or runs a worker (:mod:`kejie.job_worker`, ``kejie jobs
worker``) takes.

Each task runs its body through :func:`kejie.jobs.run`, which keeps the job's
record: stages with done/total (and so an ETA), then the result or a failure
message in Chinese. An index sync reports the texts it encodes; a backlog of at
least ``settings.job_shard_min`` texts is first cut into shards
(:mod:`kejie.shards`) that every worker on the queue helps encode.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from huey import Huey

from kejie import jobs, shards
from kejie.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kejie.match_service import MatchService

SYNC_KINDS = ("expert", "society", "demand")
_LISTENERS: dict[int, Callable[[int], None]] = {}  # thread id -> that thread's job progress
_LISTENERS_LOCK = threading.Lock()
_TASKS_LOCK = threading.Lock()


def _dispatch(n: int) -> None:
    listener = _LISTENERS.get(threading.get_ident())
    if listener is not None:
        listener(n)


@contextmanager
def encoding_progress(service: MatchService, listener: Callable[[int], None]) -> Iterator[None]:
    """Texts the service's encoder encodes in this thread go to ``listener`` (a query
    encoded meanwhile for another request, in another thread, does not count)."""
    with _LISTENERS_LOCK:
        if service.progress is not _dispatch:
            service.progress = _dispatch
        _LISTENERS[threading.get_ident()] = listener
    try:
        yield
    finally:
        with _LISTENERS_LOCK:
            _LISTENERS.pop(threading.get_ident(), None)


def sync_with_progress(settings: Settings, h: Huey, session: Session, service: MatchService,
                       progress: jobs.Progress, kinds: Iterable[str] = SYNC_KINDS,
                       rebuild: bool = False) -> dict[str, Any]:
    """``service.sync`` with stages 编码文本 (texts encoded of those not cached) and
    更新索引; a large backlog is encoded in shards by every worker first."""
    from matcher.index import CandidateIndex

    kinds = list(kinds)
    encoder = service.encoder
    texts: list[str] = []
    for kind in kinds:
        texts += CandidateIndex.passage_texts(service.load_candidates(session, kind))
    backlog = encoder.missing_texts(texts, "passage")
    total = len(backlog)
    progress("编码文本", 0, total)
    by_worker: dict[str, int] = {}
    if settings.job_shard_min and total >= settings.job_shard_min:
        batch, count = shards.cut(h, backlog, settings.job_shard_size)
        seen = {"shards": 0, "own": 0}  # texts of finished shards; of the shard this thread encodes

        def finished(n: int) -> None:  # after each round, this thread's shard among them
            seen.update(shards=n, own=0)
            progress("编码文本", min(n, total), total)

        def own(n: int) -> None:
            seen["own"] += n
            progress("编码文本", min(seen["shards"] + seen["own"], total), total)

        with encoding_progress(service, own):
            by_worker = shards.wait(h, encoder, batch, count, finished)
    left = encoder.missing(backlog, "passage") if by_worker else total
    progress("编码文本", total - left, total)

    def encoded(n: int) -> None:
        progress.add(n)
        if progress.done >= total:
            progress("更新索引", 0, 1)

    with encoding_progress(service, encoded):
        if total == 0 or left == 0:
            progress("更新索引", 0, 1)
        counts: dict[str, Any] = dict(service.sync(session, kinds, rebuild=rebuild))
    progress("更新索引", 1, 1)
    counts["encoded"] = total
    if by_worker:
        counts["shards"] = by_worker
    return counts


def register(h: Huey, settings: Settings) -> dict[str, Any]:
    """Define the tasks on ``h``; returns them by name (the kinds :func:`enqueue` takes)."""

    @h.task(context=True, name="plan_event")
    def plan_event_task(event_id: int, user_id: int, task: Any = None) -> None:
        def body(progress: jobs.Progress) -> dict[str, Any]:
            from kejie.events.runs import plan_event_for
            from models import User

            progress("载入活动与候选", 0, 3)
            factory, service = jobs.context(settings)
            with factory() as session:
                user = session.get(User, user_id)
                progress("评分与求解", 1, 3)
                match_list, created = plan_event_for(session, service, user, event_id)
                progress("保存方案", 2, 3)
                return {"event_id": event_id, "match_list_id": match_list.id, "version": match_list.version,
                        "status": str(getattr(match_list.status, "value", match_list.status)),
                        "created": created}

        jobs.run(h, task.id, body, failed="生成方案失败")

    @h.task(context=True, name="import_file")
    def import_file_task(import_id: int, options: dict[str, Any], task: Any = None) -> None:
        from kejie import import_jobs

        def body(progress: jobs.Progress) -> dict[str, Any]:
            factory, service = jobs.context(settings)
            with factory() as session:
                return import_jobs.run_import_job(session, service, import_id, progress=progress,
                                                  sync=lambda s, p: sync_with_progress(settings, h, s, service, p),
                                                  **options)

        jobs.run(h, task.id, body, failed="导入失败")

    @h.task(context=True, name="index_sync")
    def index_sync_task(kinds: list[str], rebuild: bool = False, task: Any = None) -> None:
        def body(progress: jobs.Progress) -> dict[str, Any]:
            factory, service = jobs.context(settings)
            with factory() as session:
                return sync_with_progress(settings, h, session, service, progress, kinds or SYNC_KINDS, rebuild)

        jobs.run(h, task.id, body, failed="索引同步失败")

    @h.task(context=True, name="nightly")
    def nightly_task(days: int, today: str | None = None, options: dict[str, float] | None = None,
                     task: Any = None) -> None:
        def body(progress: jobs.Progress) -> dict[str, Any]:
            from kejie.events.nightly import EventRun, plan_upcoming, upcoming_events
            from kejie.events.scope import PlanOptions

            start = date.fromisoformat(today) if today else date.today()
            factory, service = jobs.context(settings)
            with factory() as session:
                total = len(upcoming_events(session, days, start))
                progress("排定活动", 0, total)
                done: list[EventRun] = []

                def on_event(run: EventRun) -> None:
                    done.append(run)
                    progress("排定活动", len(done), total)

                def scorer(s: Session) -> Any:
                    service.sync(s, ["expert"])
                    return service.score_matrix

                runs = plan_upcoming(session, days, None, today=start, on_event=on_event,
                                     score_fn_factory=scorer, options=PlanOptions(**options) if options else None)
            return {"today": start.isoformat(), "days": days, "events": len(runs),
                    "ok": sum(r.ok for r in runs),
                    "runs": [{"event_id": r.event_id, "name": r.name, "ok": r.ok, "status": str(r.status),
                              "version": r.version, "message": r.message} for r in runs]}

        jobs.run(h, task.id, body, failed="夜间批量排定失败")

    @h.task(name="encode_shard")
    def encode_shard_task(batch: str, index: int) -> None:  # returns nothing: Huey keeps no result
        _factory, service = jobs.context(settings)
        shards.take(h, service.encoder, batch, index)

    return {"plan_event": plan_event_task, "import_file": import_file_task, "index_sync": index_sync_task,
            "nightly": nightly_task, "encode_shard": encode_shard_task}


def task_queue(settings: Settings) -> Huey:
    """The job queue of these settings (:func:`kejie.jobs.queue`) with the tasks
    defined on it, once per queue: Huey runs only the tasks it knows."""
    h = jobs.queue(settings)
    with _TASKS_LOCK:
        if not hasattr(h, "kejie_tasks"):
            h.kejie_tasks = register(h, settings)  # type: ignore[attr-defined]
    return h


def enqueue(settings: Settings, kind: str, *args: Any, user: str = "", **extra: Any) -> jobs.JobRecord:
    """Queue a job; returns its record (with ``id``) before any worker can touch it.
    ``extra`` fields (e.g. ``import_id``) are kept in the record."""
    h = task_queue(settings)
    signature = h.kejie_tasks[kind].s(*args)  # type: ignore[attr-defined]
    rec = jobs.write(h, signature.id, id=signature.id, kind=kind, status="queued", stage="排队中", done=0,
                     total=0, user=user, created=time.time(), **extra)
    if extra.get("import_id") is not None:
        jobs.link_import(h, int(extra["import_id"]), signature.id)
    h.enqueue(signature)
    return rec
