"""`python -m textgru <command> [overrides]`: the same as the `textgru` command."""

from textgru.cli import main

if __name__ == "__main__":
    main()
