"""The decoder process and what feeds it: the event stream (reader, writer and receiver
threads, restarts), the child that merges CPUs and decodes records at low priority, entry and
return pairing, process info, the bounded backlog, the frames between the two processes.

May import: tracefs, insight, events, values, gobinary and the base modules.
"""
