"""Sending: each URL's due events as one message (a digest) or one each, through Apprise, with a timeout.

A URL is tried in a thread of its own, so a URL that hangs delays none of the others (nor the
notifier's next look). A failure is logged, recorded on the deliveries (tried again later, with a
backoff: notify_store.backoff) and on the URL (`adsdash health`, the app's summary line); after
MAX_ATTEMPTS a delivery is given up. Apprise is imported here only, when something is sent: the
command line and the app load it only to send.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from adsdash import notify_store
from adsdash.notify_store import Stored
from adsdash.notify_url import labelled, scrub, url_key
from adsdash.records import this_host
from adsdash.sanitize import one_line

if TYPE_CHECKING:
    from adsdash.engine import Engine

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 5.0  # a claim lasts the sends' timeouts and this; then another sender may take it
_WARMED = threading.Lock()


def warm_up(urls: Sequence[str]) -> None:
    """Import Apprise and load its plugins (~1 s the first time) before the first event needs them."""
    with _WARMED:
        import apprise

        for url in urls:
            apprise.Apprise().add(url)


def send(url: str, title: str, body: str, *, timeout: float, tone: str = "info") -> str | None:
    """Send one message to one URL; None when it went, else why not (one line, secrets hidden).
    Never raises: Apprise's own errors and any other are the reason."""
    try:
        import apprise

        logging.getLogger("apprise").setLevel(logging.WARNING)  # its per-send INFO lines would fill a worker's log
        sender = apprise.Apprise()
        if not sender.add(url):
            return "Apprise cannot use this URL (an unknown scheme, or a part missing)"
        for service in sender:  # the plugin's own socket timeouts, so its thread ends too
            for name in ("socket_connect_timeout", "socket_read_timeout"):
                if hasattr(service, name):
                    setattr(service, name, timeout)
        result = sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT, timeout=timeout,
                               notify_type=tone)
        if result:
            return None
        said = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        why = said[-1] if said else f"not delivered ({getattr(result.status, 'name', result.status)})"
    except Exception as exc:  # noqa: BLE001 - a plugin's bug is a failed send, never a crash
        why = f"{type(exc).__name__}: {exc}"
    return one_line(scrub(str(why), url), 300)


# Apprise's message types (a colour in Slack, Teams, ...): the worst of a digest's events.
_TONES = ("info", "success", "warning", "failure")
_TONE = {"failed": "failure", "escalated": "failure", "no_worker": "failure", "stale": "warning",
         "unreadable": "warning", "missed": "warning", "fresh": "success"}


def message(events: Sequence[Stored]) -> tuple[str, str, str]:
    """(title, body, tone): one event as it is; several (a digest) as one message listing them."""
    footer = f"\n\n— adsdash on {this_host()}"
    tone = max((_TONE.get(event.kind, "info") for event in events), key=_TONES.index)
    if len(events) == 1:
        return events[0].title, events[0].body + footer, tone
    items = [f"• {event.title.removeprefix('adsdash: ')}\n{event.body}" for event in events]
    return f"adsdash: {len(events)} alerts", "\n\n".join(items) + footer, tone


class Sender:
    """Sends what is due to each configured URL; used by the worker's notifier (without waiting)
    and by `adsdash notify check` and the app (waiting)."""

    def __init__(self, engine: Engine, *, worker: str):
        self.engine = engine
        self.worker = worker
        self.urls = {url_key(url): url for url in engine.settings.notify_urls}
        self._pool: ThreadPoolExecutor | None = None
        self._going: dict[str, Future] = {}  # url key -> its send under way

    def send_due(self, *, wait: bool = False) -> None:
        """Start a send for each URL with something due and none under way; `wait`: until they end."""
        self._going = {key: future for key, future in self._going.items() if not future.done()}
        due = notify_store.due_urls(self.engine.store, self.urls.keys() - self._going.keys(), time.time())
        if not due:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(len(self.urls), 8), thread_name_prefix="adsdash-notify")
        for key in due:
            self._going[key] = self._pool.submit(self._send_safely, key)
        if wait:
            for future in list(self._going.values()):
                future.result()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)  # a send in flight ends at its timeout

    def _send_safely(self, key: str) -> None:
        try:
            self.send_url(key)
        except Exception:  # a store fault: said, and the deliveries wait for the next round
            log.exception("notify: sending to %s failed", labelled(self.urls[key]))

    def send_url(self, key: str) -> int:
        """Claim this URL's due deliveries and send them; how many messages went."""
        settings, store, url = self.engine.settings, self.engine.store, self.urls[key]
        timeout, digest = settings.notify_timeout_seconds, settings.notify_digest_seconds > 0
        events = notify_store.claim(store, key, worker=self.worker, now_ts=time.time(), all_pending=digest,
                                    lease_each=timeout + LEASE_MARGIN_SECONDS, now=self.engine.clock())
        size = notify_store.DIGEST_MAX if digest else 1
        groups = [events[at:at + size] for at in range(0, len(events), size)]
        sent = 0
        for index, group in enumerate(groups):
            title, body, tone = message(group)
            error = send(url, title, body, timeout=timeout, tone=tone)
            notify_store.settle(store, key, labelled(url), [event.id for event in group], error=error,
                                now_ts=time.time(), now=self.engine.clock())
            if error is not None:
                log.warning("notify: %s: %d event(s) not delivered: %s (tried again later)", labelled(url),
                            len(group), error)
                rest = [event.id for later in groups[index + 1:] for event in later]
                notify_store.release(store, key, rest, due=time.time() + notify_store.backoff(1))
                break
            sent += 1
        return sent


def test_urls(engine: Engine) -> list[tuple[str, str | None]]:
    """A test message to each URL at once: (the URL masked, None or why it did not go). Each URL's
    health is recorded, as for any send."""
    settings = engine.settings
    urls = list(dict.fromkeys(settings.notify_urls))
    title = "adsdash: test notification"
    body = (f"A test from adsdash on {this_host()} (data folder {settings.home}). If you read this, alerts"
            " reach you here.")
    with ThreadPoolExecutor(max_workers=min(max(len(urls), 1), 8)) as pool:
        errors = list(pool.map(lambda url: send(url, title, body, timeout=settings.notify_timeout_seconds), urls))
    try:
        with engine.store._write() as conn:
            for url, error in zip(urls, errors, strict=True):
                notify_store.mark_url(conn, url_key(url), labelled(url), error, engine.clock())
    except Exception as exc:  # noqa: BLE001 - the test's answer stands without its record
        log.error("notify test: cannot record the URLs' health: %s", exc)
    return [(labelled(url), error) for url, error in zip(urls, errors, strict=True)]


def check(engine: Engine, *, worker: str) -> list[int]:
    """What a worker cannot do for itself: see that no worker is live while jobs wait (an event,
    once per outage), and then send what is due, since no notifier runs. The new events' ids."""
    from adsdash.notify_events import Observer

    made = Observer(engine).no_worker()
    if not engine.store.live_workers():
        sender = Sender(engine, worker=worker)
        sender.send_due(wait=True)
        sender.shutdown()
    return made


def failing_text(engine: Engine) -> str | None:
    """`notify: json://127.0.0.1:9/**** #ab12cd failing: ...` for the configured URLs failing now, or None."""
    keys = [url_key(url) for url in engine.settings.notify_urls]
    bad = notify_store.failing(engine.store, keys) if keys else []
    if not bad:
        return None
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    return one_line(f"notify: {bad[0].masked} failing{more}: {bad[0].last_error or '?'}", 200)


# -- snoozes: the shell's and the app's one way ----------------------------------------

MAX_SNOOZE_HOURS = 24 * 366


def snooze_client(engine: Engine, slug: str, *, hours: float | None, until_fresh: bool, reason: str | None,
                  origin: str) -> notify_store.Snooze:
    """Snooze a client's alerts for `hours`, or until it is fresh; audited. RequestError (and an
    audit row saying why) when the client is unknown, the hours are out of range, or the client
    is fresh already (until fresh would end at once)."""
    from datetime import timedelta

    from adsdash import audit
    from adsdash.catalogue import RequestError, check_slug
    from adsdash.engine import requester

    now = engine.clock()
    try:
        check_slug(slug, engine.clients_folder.slugs())
        if until_fresh:
            client = engine.workspace.client(slug)
            if client is not None and client.freshness.kind.value == "fresh":
                raise RequestError(f"{slug} is fresh now: snoozing until fresh would end at once"
                                   " (snooze it for some hours instead)")
        elif hours is None or not 0 < hours <= MAX_SNOOZE_HOURS:
            raise RequestError(f"hours: expected a number above 0 and up to {MAX_SNOOZE_HOURS}, got {hours}")
    except RequestError as exc:
        audit.record_snooze(engine.store, slug, until="fresh" if until_fresh else f"{hours} h", origin=origin,
                            at=now, refused=str(exc))
        raise
    until = None if until_fresh else now + timedelta(hours=hours or 0)
    done = notify_store.snooze(engine.store, slug, until=until, until_fresh=until_fresh, by_user=requester()[0],
                               reason=one_line(reason, 200) if reason else None, now=now)
    audit.record_snooze(engine.store, slug, until=done.until or "fresh", origin=origin, at=now)
    return done


def unsnooze_client(engine: Engine, slug: str, *, origin: str) -> bool:
    """End a client's snooze; whether it had one. Audited."""
    from adsdash import audit

    had = notify_store.clear_snooze(engine.store, slug)
    audit.record_snooze(engine.store, slug, until="cleared", origin=origin, at=engine.clock(),
                        refused=None if had else f"{slug} had no snooze")
    return had
