"""Layer 3: the model catalog: loader and cache, registry, model entry, matcher, configurators."""
