"""Sphinx extension: emit each inline ``<script>`` once per page.

Sphinx 7.4 re-adds scripts registered after ``Builder.init()`` with the file name ``''``
instead of ``None`` (``StandaloneHTMLBuilder.prepare_writing``), so an inline script added
by an extension during the build (sphinx-thebe's ``const THEBE_JS_URL = ...``) appears
twice, and the second copy throws "Identifier 'THEBE_JS_URL' has already been declared"
in the browser. This drops the copy. Loaded through ``sphinx.local_extensions`` in
``_config.yml``; remove it once the book is on a Sphinx that no longer duplicates scripts.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = (
            getattr(script, "filename", script) or "",
            getattr(script, "priority", None),
            tuple(sorted(getattr(script, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the list is the builder's own, which other handlers of this event (the
    # MathJax extension, for pages with math) keep appending to.
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # run last
    return {"parallel_read_safe": True, "parallel_write_safe": True}
