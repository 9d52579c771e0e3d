"""Signpost's own small Datasette plugin: the dashboard is the front page, only its charts' SQL runs, errors are short.

- `/` goes to the moderators' dashboard (datasette-dashboards).
- datasette-dashboards draws its charts from `/<db>.json?sql=...`, so SQL is allowed on the served export, but only
  the exact queries of the dashboard's charts (with the filters' values as bound parameters): any other `sql=`, a
  `_where=` and any POST other than logging in or out are refused.
- Every error is a 400, 403 or 404 page (never a 500 for a bad URL) and one line in the log: no traceback, no local
  variables (Datasette's own handler would print both, so it is blocked).
- With a password set, anyone not logged in is sent to the login page (datasette-auth-passwords).
- Every answer that is an error (400 and up) writes one line to the log: method, path and status.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import urllib.parse
from functools import wraps
from typing import Any, Set

from datasette import hookimpl
from datasette.utils.asgi import Base400, Forbidden, Response

log = logging.getLogger("bot.dashboard")

CSS = """
/* Moderators read the dashboard: no SQL editors or SQL links on the table pages. */
form.sql, .show-hide-sql, p.export-links a[href*="sql="], .query-page form.sql { display: none !important; }
"""

ALLOWED_POSTS = {"/-/login", "/-/logout"}
BLOCKED_PATHS = {"/-/password-tool"}  # hashes are made with `signpost dashboard-password`, not over the web


def dashboard_queries(datasette: Any) -> Set[str]:
    """Every SQL text the dashboard's charts can send, for every set of filled-in filters."""
    from datasette_dashboards import replace_opts_in_query

    allowed = set()
    for dashboard in (datasette.plugin_config("datasette-dashboards") or {}).values():
        filters = list(dashboard.get("filters", {}))
        for chart in dashboard.get("charts", {}).values():
            if "query" not in chart:
                continue
            for size in range(len(filters) + 1):
                for chosen in itertools.combinations(filters, size):
                    allowed.add(replace_opts_in_query(chart["query"], {key: "x" for key in chosen}))
    return allowed


@hookimpl
def register_routes():
    async def front_page(request: Any, datasette: Any) -> Response:
        return Response.redirect(datasette.urls.path("/-/dashboards/signpost"))

    async def css(request: Any, datasette: Any) -> Response:
        return Response(CSS, content_type="text/css; charset=utf-8")

    return [(r"^/$", front_page), (r"^/-/signpost\.css$", css)]


@hookimpl
def extra_css_urls(datasette: Any):
    return [datasette.urls.path("/-/signpost.css")]


@hookimpl
def permission_allowed(datasette: Any, actor: Any, action: str, resource: Any):
    # SQL is on for the served export; the wrapper below lets only the dashboard's own queries through.
    if action == "execute-sql" and resource in datasette.databases and resource != "_internal":
        return True
    return None


def _refuse(send: Any, status: int, message: str, path: str, method: str) -> Any:
    log.warning("dashboard: %s %s -> %d (%s)", method, path, status, message)
    return Response.text(f"{status}: {message}", status=status).asgi_send(send)


@hookimpl
def asgi_wrapper(datasette: Any):
    def wrap(app: Any) -> Any:
        @wraps(app)
        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await app(scope, receive, send)
            path, method = scope.get("path", ""), scope.get("method", "GET")
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if path in BLOCKED_PATHS:
                return await _refuse(send, 404, "not found", path, method)
            if method not in ("GET", "HEAD") and path not in ALLOWED_POSTS:
                return await _refuse(send, 404, "not found", path, method)
            if "_where" in query:
                return await _refuse(send, 403, "own SQL is not allowed", path, method)
            if "sql" in query:
                names = {f"/{name}.json" for name in datasette.databases if name != "_internal"}
                allowed = path in names and all(sql in dashboard_queries(datasette) for sql in query["sql"])
                if not allowed:
                    return await _refuse(send, 403, "own SQL is not allowed", path, method)

            async def logged_send(message: Any) -> None:
                if message.get("type") == "http.response.start" and message.get("status", 200) >= 400:
                    # One line per error, whatever answered it: the method, the path (never the query) and status.
                    log.warning("dashboard: %s %s -> %d", method, path, message["status"])
                await send(message)

            await app(scope, receive, logged_send)

        return guarded

    return wrap


def _status(request: Any, exception: BaseException) -> int:
    from datasette.views.base import DatasetteError

    if isinstance(exception, Base400):
        return exception.status
    parts = [p for p in request.path.split("/") if p]
    if isinstance(exception, (DatasetteError, sqlite3.Error, ValueError, LookupError, TypeError)):
        # A bad URL: an unknown row, column, sort or parameter. A row is a page of its own: not found.
        if len(parts) >= 3 and not parts[0].startswith("-"):
            return 404
        if isinstance(exception, DatasetteError) and 400 <= exception.status < 500:
            return exception.status
        return 400
    return 500


def _login_wanted(datasette: Any, request: Any) -> bool:
    return bool(datasette.plugin_config("datasette-auth-passwords")) and not request.actor


@hookimpl
def forbidden(datasette: Any, request: Any, message: str):
    """Not logged in yet: the login page rather than "Forbidden"."""
    if _login_wanted(datasette, request):
        return Response.redirect(datasette.urls.path("/-/login"))
    return None


@hookimpl(tryfirst=True)
def handle_exception(datasette: Any, request: Any, exception: BaseException):
    async def inner() -> Response:
        status = _status(request, exception)  # the wrapper above logs the one line
        if isinstance(exception, Forbidden) and _login_wanted(datasette, request):
            return Response.redirect(datasette.urls.path("/-/login"))
        message = {
            400: "Bad request: this address or one of its options isn't right.",
            403: "Not allowed.",
            404: "Not found.",
        }.get(status, "Something went wrong.")
        if request.path.split("?")[0].endswith(".json"):
            return Response.json({"ok": False, "error": message, "status": status}, status=status)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        html = await template.render_async(
            {
                "ok": False,
                "error": message,
                "status": status,
                "title": None,
                "urls": datasette.urls,
                "app_css_hash": datasette.app_css_hash(),
                "menu_links": lambda: [],
            }
        )
        return Response.html(html, status=status)

    return inner
