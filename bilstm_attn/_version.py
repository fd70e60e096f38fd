"""The version of bilstm_attn (also read by pyproject.toml)."""

__version__ = "0.2.0"
