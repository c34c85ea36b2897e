"""textgru's Hydra configs, shipped in the package and read as `pkg://textgru.conf`."""
