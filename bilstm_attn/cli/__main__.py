"""``python -m bilstm_attn.cli``: the same as the ``bilstm-attn`` command."""

import sys

from bilstm_attn.cli import main

if __name__ == "__main__":
    sys.exit(main())
