"""What may be written through this Fava: Fava's own write API closed while
identities come from a header, and every write refused when Fava or the
config is read-only; and what may run on its origin: no script of a ledger's file.

Fava's editor, importer, uploads and document deletion write whatever they
are sent, under any name, without identity; only this extension's endpoints
judge who writes, so with `user-header` set the others are refused. Those
endpoints act as whoever's browser calls them, so Fava's own routes that serve
a ledger's files inline (an HTML bank statement) serve them sandboxed.

One Fava process may serve several ledgers, and Fava runs an extension's hooks
only for the ledger that enables it: a second ledger including a guarded
ledger's file (or that very file) would write it through Fava's editor without
any of this. So the guard is installed on the app too (`install_app_guard`):
Fava's own writes to any ledger that shares a file with a guarded one are
refused as the guarded ledger refuses its own (`refuse_writes_to_shared_files`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from fava.context import g
from flask import Flask, Request, abort, after_this_request, current_app, request_started
from flask import request as current_request

from beancount_adjustments.fava_ext.config import Config
from beancount_adjustments.fava_ext.identity import Identity
from beancount_adjustments.fava_ext.responses import confined, refusal

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
EXTENSION = "AdjustmentsExtension"
"""The extension's name in Fava (its class name)."""
FAVA_FILE_ROUTES = frozenset(("document", "statement"))
"""Fava's own endpoints that send a ledger's file inline (`/document/?filename=`,
`/statement/?entry_hash=`): a document directive, a documents folder or an
import folder may hold HTML."""

FAVA_CLOSED = (
    "Fava editing is closed: Fava's own editor, importer, uploads and document deletion "
    "write without checking who you are, so they are refused (403) while identities come "
    "from {header}. Decide here; change entries with bean-adjust or in git "
    "('fava-editing': True in the extension's config reopens them).")


def fava_read_only() -> bool:
    """Whether Fava runs with --read-only.

    Fava 1.30 keeps no flag for it: `create_app(read_only=True)` registers a
    before-request hook named `_read_only` that answers every non-GET with
    401. We look for that hook (and a `READ_ONLY` config value, for later
    versions).
    """
    if current_app.config.get("READ_ONLY"):
        return True
    hooks = current_app.before_request_funcs.get(None, [])
    return any(getattr(hook, "__name__", "") == "_read_only" for hook in hooks)


def refuse_unjudged_writes(cfg: Config, request: Request, extension: str) -> None:
    """Abort with 403 a write this extension does not judge, or any write while
    read-only (the extension's `before_request`).

    Fava runs that hook on every request to a ledger (its JSON API included)
    before the view and before its own `--read-only` hook (which would answer
    401), so nothing is written.
    """
    if request.method in SAFE_METHODS:
        return
    args = request.view_args or {}
    ours = (request.endpoint == "extension_endpoint"
            and args.get("extension_name") == extension)
    if not ours:
        if cfg.guards_fava:
            closed = fava_closed(cfg)
            abort(refusal(403, "forbidden", closed))
        return
    reason = read_only_reason(cfg)
    if reason:
        abort(refusal(403, "forbidden", reason))


def confine_fava_files(request: Request) -> None:
    """Serve what Fava's own file routes send as this extension's document link does
    (`responses.confined`): a script in a ledger's HTML document, run on Fava's
    origin, would post decisions as whoever opened it (the extension's
    `before_request`)."""
    if request.endpoint in FAVA_FILE_ROUTES:
        after_this_request(confined)


def read_only_reason(cfg: Config, identity: Callable[[], Identity] | None = None) -> str:
    """Why nothing can be written ("" when writes are possible); with `identity`,
    a request without an acting user is read-only too."""
    if fava_read_only():
        return "Fava runs in read-only mode (--read-only): nothing can be written."
    if cfg.read_only:
        return "The adjustments extension is configured read-only."
    if identity is not None:
        acting = identity()
        if acting.user is not None:
            return ""
        if acting.note:
            return f"No acting user: {acting.note}. The pages are read-only."
        if cfg.demo_mode:
            return "Pick who you act as to approve or reject; until then this is read-only."
        return ("No acting user: the trusted header "
                f"{cfg.user_header or '(user-header not configured)'} is missing, "
                "so the pages are read-only.")
    return ""


def fava_closed(cfg: Config) -> str:
    """Why Fava's own write API is refused (`Config.guards_fava`)."""
    if cfg.user_header:
        return FAVA_CLOSED.format(header=cfg.user_header)
    return ("Fava editing is closed: the adjustments extension is configured read-only, so "
            "Fava's own editor, importer, uploads and document deletion are refused (403) "
            "too ('fava-editing': True in the extension's config reopens them).")


def fava_editing_note(cfg: Config) -> str:
    """What the page says about Fava's own editor and write API."""
    if cfg.guards_fava:
        return fava_closed(cfg)
    if cfg.user_header:
        return ("Fava editing is open ('fava-editing': True): Fava's editor, importer and "
                "uploads write whatever they are sent, approvals under any name included, "
                "with no identity check. Close it unless every user of this Fava is "
                "trusted to write anything.")
    return ""


# -- other ledgers of the same Fava ------------------------------------------------

_INSTALLED = "beancount_adjustments.app_guard"
_install_lock = threading.Lock()


def install_app_guard(app: Flask) -> None:
    """Run `refuse_writes_to_shared_files` before every request of `app`, whichever
    ledger it is for (once per app). Called from the extension's constructor (a
    lazy load runs inside the first request, before its before-request hooks run:
    the hook appended then runs for it too) and on every request's start (a load
    at start-up has no app to call it with)."""
    with _install_lock:
        if app.extensions.get(_INSTALLED):
            return
        app.extensions[_INSTALLED] = True
        # Appended to the list Flask reads, not `app.before_request(...)`: Flask
        # refuses that once the app has served a request, and Fava loads its
        # ledgers lazily inside the first one.
        app.before_request_funcs.setdefault(None, []).append(refuse_writes_to_shared_files)


def _on_request_started(sender: Flask, **_extra: Any) -> None:
    install_app_guard(sender)


request_started.connect(_on_request_started)


def _files(ledger: Any) -> set[str]:
    options = getattr(ledger, "options", None) or {}
    names = [*options.get("include", ()), getattr(ledger, "beancount_file_path", "")]
    return {os.path.realpath(name) for name in names if name}


def _reach(ledger: Any) -> tuple[set[str], set[str]]:
    """The files and the folders Fava's own routes of `ledger` write, move or delete:
    its source files and its document entries' files; its documents and import
    folders (an upload lands there, a file there may be moved or deleted)."""
    files = _files(ledger)
    documents = getattr(getattr(ledger, "all_entries_by_type", None), "Document", ())
    files |= {os.path.realpath(d.filename) for d in documents}
    options = getattr(ledger, "options", None) or {}
    fava_options = getattr(ledger, "fava_options", None)
    folders = [*options.get("documents", ()), *getattr(fava_options, "import_dirs", ())]
    join = getattr(ledger, "join_path", None)
    return files, {os.path.realpath(join(f) if join else f) for f in folders if f}


def _overlap(a: str, b: str) -> bool:
    """Whether one folder holds the other (or they are one)."""
    return a == b or a.startswith(b.rstrip(os.sep) + os.sep) or b.startswith(
        a.rstrip(os.sep) + os.sep)


def _shared(ledger: Any, guarded: Any) -> set[str]:
    """The files of `guarded` that Fava's own routes of `ledger` reach (`_reach`): one of
    its files, or one in a folder overlapping theirs (an include pattern of it may
    match a file uploaded there)."""
    files, folders = _reach(ledger)
    theirs = _files(guarded)
    return {name for name in theirs if name in files
            or any(_overlap(os.path.dirname(name), folder) for folder in folders)}


def _extension(ledger: Any) -> Any:
    """This extension as `ledger` enabled it, or None."""
    extensions = getattr(ledger, "extensions", None)
    return extensions.get_extension(EXTENSION) if extensions is not None else None


def _config(ledger: Any) -> Config | None:
    cfg = getattr(_extension(ledger), "cfg", None)
    return cfg if isinstance(cfg, Config) else None


def _guarding(ledger: Any) -> str:
    """Why `ledger`'s extension closes Fava's own writes ("" when it does not, or the
    ledger does not enable it)."""
    cfg = _config(ledger)
    if cfg is None or not cfg.guards_fava:
        return ""
    return fava_closed(cfg)


def _written_by_extension(ledger: Any) -> set[str]:
    """The file this extension of `ledger` writes: its writer's target."""
    target = getattr(_extension(ledger), "target_path", None)
    return {os.path.realpath(target())} if callable(target) else set()


def _vouches_as(ours: Config | None, theirs: Config) -> bool:
    """Whether a write by an extension configured `ours` may land in a file of a
    ledger whose extension is configured `theirs`: the identity comes from the same
    trusted header and proxy secret, with no pick of demo mode, and theirs is not
    read-only. A demo pick, or a header their proxy does not set, names anyone."""
    return (ours is not None and not theirs.read_only and not ours.demo_mode
            and ours.identity_source == theirs.identity_source)


def _refuse_extension_writes_to_guarded_files(target: Any, ledgers: list[Any]) -> None:
    """Abort with 403 a write by this extension of `target` whose file another ledger
    of this Fava reads under a guard `target`'s extension does not vouch as
    (`_vouches_as`): its writer judges the decision by `target`'s identity and book,
    and the other ledger would count it under a name its deployment never vouched
    for."""
    written = _written_by_extension(target)
    ours = _config(target)
    for other in ledgers:
        if other is target or not _guarding(other):
            continue
        theirs = _config(other)
        shared = written & _files(other)
        if not shared or theirs is None or _vouches_as(ours, theirs):
            continue
        names = ", ".join(sorted(shared))
        title = (getattr(other, "options", None) or {}).get("title", "another ledger")
        how = ("is read-only" if theirs.read_only
               else f"takes identities from {theirs.user_header}"
               + (" with the proxy's secret" if theirs.proxy_secret else ""))
        message = (f"This ledger's adjustments extension writes {names}, which the ledger "
                   f"{title!r} of this Fava reads, and that ledger's extension {how}, "
                   "which this one's does not vouch as: a decision written here would "
                   "count there under a name its deployment never checked. Decide in "
                   f"{title!r}, or give this ledger a target file of its own.")
        abort(refusal(403, "forbidden", message))


def refuse_writes_to_shared_files() -> None:
    """Abort with 403 a write through Fava's own routes to a ledger that shares a file
    with another ledger of this Fava whose extension closes Fava's writes: those
    routes would write that file (an approval under any name) around every control
    of the guarded ledger. Its own requests the guarded ledger's hook judges; this
    extension's endpoints write through the writer, and are refused only where they
    would write such a file under an identity the other ledger does not trust
    (`_refuse_extension_writes_to_guarded_files`)."""
    if current_request.method in SAFE_METHODS:
        return
    target = getattr(g, "ledger", None)
    if target is None:
        return
    args = current_request.view_args or {}
    loader = current_app.config.get("LEDGERS")
    ledgers = list(getattr(loader, "ledgers", None) or [])
    if (current_request.endpoint == "extension_endpoint"
            and args.get("extension_name") == EXTENSION):
        _refuse_extension_writes_to_guarded_files(target, ledgers)
        return
    for other in ledgers:
        if other is target:
            continue
        why = _guarding(other)
        shared = _shared(target, other) if why else set()
        if shared:
            names = ", ".join(sorted(shared))
            title = (getattr(other, "options", None) or {}).get("title", "another ledger")
            message = (f"Fava editing is closed for {names}: the ledger {title!r} of this "
                       f"Fava reads it (this ledger's editor, documents or import folders "
                       f"reach it), and its adjustments extension closes Fava's own "
                       f"editor there. {why}")
            abort(refusal(403, "forbidden", message))

