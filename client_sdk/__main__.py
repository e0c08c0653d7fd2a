"""``python -m client_sdk``: the ``sotay`` command line (see ``client_sdk.cli``)."""

from client_sdk.cli import main

raise SystemExit(main())
