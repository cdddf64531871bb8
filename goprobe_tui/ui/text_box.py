"""A one-line text box whose editing keys act in the order they were typed.

Textual runs a widget's key bindings (ctrl+u, backspace, ctrl+w, …) only once the key has
bubbled up to the app, while the characters behind it are inserted by the box as they come:
in a burst (a fast typist, a paste, tmux send-keys) `ctrl+u` then `files` left the box empty,
and the next key went to the list. Here the box runs its own bindings as it meets them.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

# key -> the Input's action for it, from Input's own bindings (Enter is the app's to handle)
_EDITING = {key.strip(): b.action for b in Input.BINDINGS if b.action != "submit" for key in b.key.split(",")}


class TextBox(Input):
    async def _on_key(self, event: events.Key) -> None:
        action = _EDITING.get(event.key)
        if action is None or event.is_printable:
            await super()._on_key(event)
            return
        event.stop()  # handled here, in order: the app must not run the binding again
        event.prevent_default()
        await self.run_action(action)
