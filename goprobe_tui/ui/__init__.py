"""The Textual UI: the function browser, the probe panel, the views. It owns no kernel or ELF
logic: it drives the engine and shows events, statistics and the binary's names.

May import: engine, events, insight, gobinary and the base modules.
"""
