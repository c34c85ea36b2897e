"""Sample text from a language model: `python scripts/generate.py ckpt_path=... prompt="ROMEO:" [num_samples=3 seed=1]`."""

from textgru.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry("textgru.commands:generate_command", config_name="generate", raw_keys=("prompt",))
