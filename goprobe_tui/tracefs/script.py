"""A probe session written down as a POSIX shell script instead of being made here.

The session's code path is the real one (session.ProbeSession with this control): the same
instance settings, uprobe_events commands, filters and enables, in the same order. The script
runs them on the target (busybox sh is enough), runs the program, saves the instance's raw
pages and the events' formats in a tracefs-shaped folder, and removes all it set up, on every
ending it can see (exit, INT, TERM, HUP); `sh probes.sh --cleanup` after a SIGKILL.

Safety as in fs.py: uprobe_events is only appended to (`>>`), one command per echo.
"""

from __future__ import annotations

import os
import secrets
import shlex

from goprobe_tui.tracefs import fs

SCRIPT_PREFIX = "goprobe_script_"  # never taken for a dead goprobe-tui session by `cleanup`
READ_SECONDS = 1  # a drained trace_pipe_raw blocks: the copy of each CPU's pages ends after this


def script_session_name() -> str:
    return SCRIPT_PREFIX + secrets.token_hex(4)


class ScriptControl:
    """Records the session's writes as shell lines: setup lines fail the script (and undo what
    was done), finish lines (teardown) go on past errors."""

    live = False

    def __init__(self, root: str = "/sys/kernel/tracing") -> None:
        self.root = root.rstrip("/")
        self.setup: list[str] = []
        self.finish: list[str] = []
        self.finishing = False  # set when the session's teardown begins
        self.dump: list[str] = []
        self.disables: list[str] = []  # the teardown's disables, returns first

    def _path(self, path: str) -> str:
        if path == self.root:
            return '"$T"'
        if path.startswith(self.root + "/"):
            return '"$T"' + shlex.quote(path[len(self.root) :])
        return shlex.quote(path)

    def _add(self, line: str, what: str) -> None:
        if self.finishing:
            self.finish.append(f"{line} 2>/dev/null")
        else:
            self.setup.append(f"{line} || fail {shlex.quote(what)}")

    def mkdir(self, path: str) -> None:
        self._add(f"mkdir {self._path(path)}", f"cannot create {os.path.basename(path)}")

    def rmdir(self, path: str) -> None:
        if self.finishing:
            self.finish.append(f"retry_busy '' {self._path(path)}")
            return
        self._add(f"rmdir {self._path(path)}", f"cannot remove {os.path.basename(path)}")

    def write_value(self, path: str, value: str) -> None:
        rel = path[len(self.root) :].lstrip("/")
        if self.finishing and value == "0" and path.endswith("/enable"):
            self.disables.append(f"echo 0 > {self._path(path)} 2>/dev/null")
        self._add(f"echo {shlex.quote(value)} > {self._path(path)}", f"cannot write {rel}")

    def append_commands(self, root: str, commands: list[str]) -> None:
        """A script checks each definition where it runs: one line per command."""
        for command in commands:
            self.append_command(root, command)

    def append_command(self, root: str, command: str) -> None:
        fs.check_command(command)
        if self.finishing and command.startswith("-:"):
            # a deletion right after the disable can meet EBUSY: retried (fs.retry_busy)
            self.finish.append(f"retry_busy {shlex.quote(command[2:])}")
            return
        self._add(
            f'echo {shlex.quote(command)} >> "$T/uprobe_events"', f"the kernel refused: {command[:200]}"
        )

    def read_text(self, path: str) -> str:
        raise FileNotFoundError(path)  # nothing to read until the target has run the script

    def save_records(self, instance: str, events: list[tuple[str, str]]) -> None:
        """The lines that copy what the decoder needs out of tracefs (before any event is
        deleted: that would clear the buffer). events: (group, name)."""
        inst = self._path(instance)
        lines = [
            'mkdir -p "$OUT/events/ftrace/user_stack"',
            'cat "$T/events/header_page" > "$OUT/events/header_page"',
            'cat "$T/events/ftrace/user_stack/format" > "$OUT/events/ftrace/user_stack/format"',
            # the threads' processes and names, for records of threads gone by now
            'cat "$T/saved_tgids" > "$OUT/saved_tgids"',
            'cat "$T/saved_cmdlines" > "$OUT/saved_cmdlines"',
        ]
        for group, name in events:
            rel = shlex.quote(f"/events/{group}/{name}")
            lines += [f'mkdir -p "$OUT"{rel}', f'cat "$T"{rel}/format > "$OUT"{rel}/format']
        lines += [
            f"for d in {inst}/per_cpu/cpu*; do",
            '  c="$OUT/per_cpu/${d##*/}"; mkdir -p "$c"',
            f'  timeout -s KILL {READ_SECONDS} cat "$d/trace_pipe_raw" > "$c/trace_pipe_raw" &',
            "done",
            "wait",
            f"for d in {inst}/per_cpu/cpu*; do",
            '  cat "$d/stats" > "$OUT/per_cpu/${d##*/}/stats"',
            "done",
            f"[ -e {inst}/buffer_subbuf_size_kb ] && cat {inst}/buffer_subbuf_size_kb > "
            '"$OUT/buffer_subbuf_size_kb"',
        ]
        self.dump = lines

    def render(self, header: str) -> str:
        """The whole script. header: comment lines saying what it traces."""
        body = [
            "#!/bin/sh",
            *(f"# {line}" if line else "#" for line in header.splitlines()),
            "set -u",
            'T="${GOPROBE_TRACEFS:-/sys/kernel/tracing}"',
            'OUT="${GOPROBE_OUT:-./goprobe-records}"',
            # retry_busy EVENT | retry_busy '' DIR: delete an event (if it was made) or remove
            # the instance, retrying while the kernel says busy
            "retry_busy() {",
            "  n=0",
            "  while :; do",
            '    if [ -n "$1" ]; then [ -d "$T/events/$1" ] || return 0',
            '      echo "-:$1" >> "$T/uprobe_events" 2>/dev/null && return 0',
            '    else [ -d "$2" ] || return 0; rmdir "$2" 2>/dev/null && return 0; fi',
            '    n=$((n + 1)); [ $n -ge 20 ] && { echo "goprobe: cannot remove ${1:-$2}" >&2; return 1; }',
            "    sleep 0.1 2>/dev/null || sleep 1",
            "  done",
            "}",
            "finish() {",
            "  trap - INT TERM HUP",
            *(f"  {line}" for line in self.finish),
            "}",
            "save() {",  # what cannot be saved is left out: its errors are not the program's
            *(f"  {line}" for line in self.dump),
            "} 2>/dev/null",
            # The target's wall clock against its trace clock (CLOCK_MONOTONIC: timer_list's
            # `now`), so replay shows the target's own times. A date without %N (busybox) is
            # read at the turn of a second instead: a few ms, not a second, of uncertainty.
            "clock() {",
            "  r=$(date +%s.%N)",
            '  case $r in *N*) s=$(date +%s); while [ "$(date +%s)" = "$s" ]; do :; done; '
            "r=$((s + 1)).0;; esac",
            "  m=$(sed -n 's/^now at \\([0-9]*\\) nsecs/\\1/p' /proc/timer_list | head -n 1)",
            '  echo "$r $m"',
            "}",
            "ended=0",
            # signals are ignored while it ends: a second one must not cut the saving short
            "end() { [ $ended = 1 ] && return; ended=1; trap '' INT TERM HUP; off; save; finish; }",
            # A signal stops the program too (its own TERM: an asynchronous command ignores
            # INT), after which everything recorded is saved and all removed.
            "child=",
            'on_signal() { [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; end; exit "$1"; }',
            "off() {",
            "  :",
            *(f"  {line}" for line in self.disables),
            "}",
            'fail() { echo "goprobe: $1" >&2; [ -r "$T/error_log" ] && tail -n 2 "$T/error_log" >&2; '
            "off; finish; exit 2; }",
            'if [ "${1:-}" = --cleanup ]; then off; finish; exit 0; fi',
            'if [ $# -eq 0 ]; then echo "usage: sh $0 PROGRAM [ARG...]  (or --cleanup)" >&2; exit 2; fi',
            '[ -e "$T/uprobe_events" ] || mount -t tracefs nodev "$T" 2>/dev/null',
            '[ -w "$T/uprobe_events" ] || { echo "goprobe: no writable $T/uprobe_events '
            '(not root, or no uprobes)" >&2; exit 2; }',
            '[ -z "$(ls -A "$OUT" 2>/dev/null)" ] || { echo "goprobe: $OUT is not empty" >&2; exit 2; }',
            'mkdir -p "$OUT" || { echo "goprobe: cannot create $OUT" >&2; exit 2; }',
            "exec 3<&0",  # the program's stdin: a background command's would be /dev/null
            "trap 'on_signal 130' INT; trap 'on_signal 143' TERM; trap 'on_signal 129' HUP",
            *self.setup,
            'clock > "$OUT/clock" 2>/dev/null',
            # in the background, so that a signal reaches the shell at once (a foreground
            # command would hold its traps until it ended); stdin stays the program's
            '"$@" 0<&3 3<&- &',
            "child=$!",
            'wait "$child"',
            "status=$?",
            "end",
            "exit $status",
        ]
        return "\n".join(body) + "\n"
