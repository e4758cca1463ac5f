"""Every binding id a `[keymap]` can move, with its default key(s).

A plain table, so settings can be checked without importing Textual. tests/test_config.py
compares it with the BINDINGS of every screen, widget and the app, so it cannot drift.
An id shared by several bindings lists the keys of all of them (Textual's keymap moves
them all at once): `dialog.cancel` is `escape` everywhere and also `n` in a yes/no dialog.
"""

BINDING_IDS: dict[str, str] = {
    "app.jobs": "j",
    "app.keys": "question_mark",
    "app.quit": "q",
    "client_detail.back": "escape",
    "client_detail.repair": "r",
    "client_detail.reports": "p",
    "clients.append": "a",
    "clients.clear_filter": "escape",
    "clients.detail": "enter",
    "clients.filter": "slash",
    "clients.init": "i",
    "clients.repair": "r",
    "clients.report": "g",
    "clients.reports": "p",
    "clients.sort": "s",
    "clients.unlock": "u",
    "clients.validate": "v",
    "dialog.cancel": "n,escape",
    "dialog.confirm": "y",
    "job_detail.back": "escape",
    "job_detail.cancel": "x",
    "job_detail.next": "n",
    "job_detail.previous": "N",
    "job_detail.retry": "R",
    "job_detail.search": "slash",
    "jobs.back": "escape",
    "jobs.cancel": "x",
    "jobs.client": "c",
    "jobs.open": "enter",
    "jobs.retry": "R",
    "jobs.status": "s",
    "keys.close": "escape",
    "output.end": "G",
    "output.top": "g",
    "report_view.back": "escape",
    "reports.back": "escape",
    "reports.generate": "g",
    "reports.open": "enter",
}
