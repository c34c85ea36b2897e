"""textgru's Hydra configs, shipped in the package and read as `pkg://textgru.conf`."""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent  # this folder: the package's configs
