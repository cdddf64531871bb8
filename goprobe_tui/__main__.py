from goprobe_tui.cli import main

raise SystemExit(main())
