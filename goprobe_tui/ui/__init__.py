"""The Textual UI. It owns no kernel or ELF logic: it drives goprobe_tui.tracefs and gobinary."""
