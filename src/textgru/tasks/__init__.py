"""LightningModules: losses, metrics and optimizers around the plain models; no data code."""
