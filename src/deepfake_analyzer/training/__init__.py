"""Training and evaluation: data sources, face-crop cache, self-blending, train and evaluate."""
