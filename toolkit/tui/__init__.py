"""Textual front end of `fqdnkit tui`: every Textual import of the project lives here.

Contract: one widget or screen per module; data comes from `toolkit.tui_model` (pure),
which wraps the loader, the log grammar and the analysis. `FqdnkitApp` (app.py) is the
entry point; `toolkit.commands.tui` builds it from command-line paths.
"""
