"""Data: sources (config → DatasetDict), tokenizers, and the LightningDataModules."""
