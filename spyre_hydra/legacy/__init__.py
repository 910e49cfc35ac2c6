"""Conversion from and to the plugin's model_configs.yaml."""
