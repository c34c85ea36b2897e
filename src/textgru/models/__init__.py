"""Plain `nn.Module`s: the GRU encoder, pooling, the classifier (and, later, the language model)."""
