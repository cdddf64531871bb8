"""The runtime's own goroutine dump (SIGQUIT with GOTRACEBACK=all), parsed, and `goroutines
--json` held to it: what the amd64 tests and the arm64 VM's both judge by."""

from __future__ import annotations

import re

_HEADER = re.compile(r"goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]+)\]:")
_CREATED = re.compile(r"created by (\S+)(?: in goroutine (\d+))?")


def go_dump(text: str) -> dict[int, dict]:
    """Go's own dump: goid -> {reason, frames [(function, file, line)], created_by}."""
    out: dict[int, dict] = {}
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        m = _HEADER.match(lines[0]) if lines else None
        if not m:
            continue
        reason = re.sub(r", \d+ minutes|, locked to thread|, syscall", "", m.group(2))
        frames, created = [], None
        i = 1
        while i + 1 < len(lines):
            if not lines[i + 1].startswith("\t"):  # a line of its own, such as Go 1.19's
                i += 1  # "goroutine running on other thread; stack unavailable"
                continue
            head, where = lines[i], lines[i + 1].strip()
            file, _, line = where.split(" ")[0].rpartition(":")
            c = _CREATED.match(head)
            if c:
                created = (c.group(1), file, int(line))
            elif not head.startswith("runtime.goexit"):
                frames.append((head[: head.rindex("(")] if "(" in head else head, file, int(line)))
            i += 2
        if int(m.group(1)) != 0:  # "goroutine 0": a thread's system stack (g0), not in allgs
            out[int(m.group(1))] = {"reason": reason, "frames": frames, "created_by": created}
    return out


def held_to_go_dump(ours: dict[int, dict], theirs_text: str, version: str) -> None:
    """`goroutines --json`'s goroutines (by goid) against the runtime's dump of the parked
    program taken right after: the same goids; for every parked goroutine the same wait
    reason, frames (function, file, line) and "created by"; the spinner not waiting."""
    go = go_dump(theirs_text)
    assert set(ours) == set(go), (sorted(ours), sorted(go))
    parked = [g for g in ours.values() if g["status"] == "waiting"]
    assert len(parked) >= 10  # the program's 9 and the runtime's own
    reasons = {g["wait_reason"] for g in parked}
    mutex = "semacquire" if version.startswith("1.19") else "sync.Mutex.Lock"  # named apart from Go 1.20
    assert {"chan receive", "chan send", "select", mutex, "sleep", "IO wait"} <= reasons
    for g in parked:
        theirs = go[g["goid"]]
        assert g["wait_reason"] == theirs["reason"], (g, theirs)
        assert [(f["function"], f["file"], f["line"]) for f in g["frames"]] == theirs["frames"], (g, theirs)
        by = g["created_by"]
        assert (by and (by["function"], by["file"], by["line"])) == theirs["created_by"] or (
            by is None and theirs["created_by"] is None
        ), (g, theirs)
    spinning = [g for g in ours.values() if g["start"] and g["start"]["function"] == "main.spinner"]
    assert len(spinning) == 1 and spinning[0]["status"] in ("running", "runnable", "preempted")
