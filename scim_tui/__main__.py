from scim_tui.cli import main

raise SystemExit(main())
