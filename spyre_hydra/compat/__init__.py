"""The Spyre plugin's config API over spyre_hydra's catalog, as a drop-in module layout.

``spyre_hydra.compat.sendnn_inference.config.model_registry`` (and model_config,
model_matcher, configurators.model_configurator) offer the names of
``sendnn_inference.config.*`` (sendnn-inference 2.6.3); what they do is spyre_hydra's own
catalog, matcher and configurator: the classes here only adapt constructors and attribute
names. Code written against the plugin imports them in place of the plugin's modules.
"""
