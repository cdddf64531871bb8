"""The Calls view: one goroutine's calls nested by depth."""
