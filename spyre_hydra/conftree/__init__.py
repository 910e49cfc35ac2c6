"""Layer 2: the conf tree: roots, Hydra compose, search path, resolvers, schema, versions."""
