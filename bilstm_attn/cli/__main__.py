import sys

from bilstm_attn.cli import main

sys.exit(main())
