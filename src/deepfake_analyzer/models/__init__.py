"""Classifiers: the model spec, the Keras Xception builder, safe loading and batched inference."""
