from adsdash.cli import main

raise SystemExit(main())
