"""Gradient flow through time, GRU against a tanh RNN: `python scripts/gradient_flow.py [seq_len=100] [steps=1500]`."""

from textgru.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry("textgru.gradient_flow:gradient_flow_command", config_name="gradient_flow")
