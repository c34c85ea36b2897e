"""textgru: GRU text models (sentiment classification, language modelling) with Lightning, Hydra and HF."""

__version__ = "0.1.0"
