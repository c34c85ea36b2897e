"""Using a trained model: `load()` a checkpoint (or run folder) as a `Classifier`, `LanguageModel` or `Forecaster`,
then predict, evaluate, generate, stream, score or forecast. No Lightning import on this path."""
