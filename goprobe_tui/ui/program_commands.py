"""`R`: run the program goprobe-tui was given after `--` (goprobe-tui BINARY -- ARG...).

The program is held before its first instruction while the user chooses probes; `R` lets it
run. Its probes are perf events on its pid, so a second run (another pid) needs new ones: `R`
after it ended detaches the old engine, holds a new run, attaches the same functions (returns,
fields and conditions too) to a new engine, and lets it run. Events already shown stay."""

from __future__ import annotations

from collections.abc import Callable

from textual import work

from goprobe_tui.engine.api import Engine
from goprobe_tui.engine.launch import LaunchedProgram, ProgramRuns
from goprobe_tui.errors import GoprobeError

# a new engine for the process of that pid, or (None, why not)
EngineFactory = Callable[[int], tuple[Engine | None, str]]


class ProgramCommands:
    """Mixed into the main screen: its engine (`controller`), its header and notifications."""

    runs: ProgramRuns | None
    new_engine: EngineFactory | None

    def _watch_program(self) -> None:
        """Every half second: say once when the program ended."""
        runs = self.runs
        if runs is None or not runs.program.started or self._ended_said == runs.program.pid:
            return
        if runs.program.ended():
            self._ended_said = runs.program.pid
            self.notify(
                f"the program (pid {runs.program.pid}) exited with status {runs.program.status}; "
                "R runs it again",
                timeout=10,
            )
            self.query_one("#header").refresh_text()

    def action_run_program(self) -> None:
        runs = self.runs
        if runs is None:
            self.notify("R runs a program started as `goprobe-tui BINARY -- ARG...`", severity="warning")
            return
        program = runs.program
        if not program.started:
            runs.start()
            self.notify(f"started pid {program.pid}; its output goes to {runs.log_path}", timeout=10)
        elif not program.ended():
            self.notify(f"the program is still running (pid {program.pid})", severity="warning")
        elif not self._rerunning:
            self._rerunning = True
            self.notify("detaching from the last run, attaching to a new one…", timeout=5)
            self._run_again(program)
        self.query_one("#header").refresh_text()

    @work(thread=True, group="program", exclusive=True, exit_on_error=False)
    def _run_again(self, ended: LaunchedProgram) -> None:
        runs, old = self.runs, self.controller
        assert runs is not None and self.new_engine is not None  # R without a program: refused
        if runs.program is not ended:  # another R got here first
            self._rerunning = False
            return
        try:
            names = old.attached_names()
            found = {name: self.binary.find(name) for name in names}
            chosen = [
                (fn, old.returns_of(fn.key), old.fields_of(fn), old.condition_of(fn))
                for fn in found.values()
                if fn is not None
            ]
            lost = [name for name, fn in found.items() if fn is None]
            refused = 0
            old.close()  # its probes are on the last run's pid, which has ended
            program = runs.next()
            engine, reason = self.new_engine(program.pid)
            if engine is None:
                self.call_from_thread(self.notify, f"cannot trace the new run: {reason}", severity="error")
                return
            for returns in (False, True):
                fns = [fn for fn, r, _f, _c in chosen if bool(r) == returns]
                if fns:
                    _attached, errors = engine.attach_many(fns, returns=returns)
                    lost += [f"{name} ({why})" for name, why in errors.items()]
                    refused += len(errors)
            for fn, _r, fields, condition in chosen:
                if fields:
                    engine.set_fields(fn, fields)
                if condition:
                    engine.set_condition(fn, condition)
            self.call_from_thread(self._swap_engine, engine, program.pid)
            runs.start()
            self.call_from_thread(
                self.notify, f"run {runs.runs}: pid {program.pid}, {len(chosen) - refused} attached"
            )
            if lost:  # never silently fewer probes than the run before
                self.call_from_thread(
                    self.notify, "not attached again: " + ", ".join(lost), severity="warning", timeout=20
                )
        except GoprobeError as exc:
            self.call_from_thread(self.notify, f"cannot run again: {exc}", severity="error")
        finally:
            self._rerunning = False

    def _swap_engine(self, engine: Engine, pid: int) -> None:
        self.controller = engine
        engine.on_binary_change = lambda ch: self.call_from_thread(self._binary_changed, ch)
        self.target_pid = pid
        header = self.query_one("#header")
        header.pid = pid
        header.refresh_text()
