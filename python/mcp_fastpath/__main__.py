"""`python -m mcp_fastpath …` is the `mcp-fastpath` command."""

import sys

from .cli import main

sys.exit(main())
