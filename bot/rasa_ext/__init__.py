"""Everything that plugs into Rasa: the components config.yml names, and the classes endpoints.yml names."""
