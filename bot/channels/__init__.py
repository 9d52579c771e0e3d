"""The ways young people reach Signpost. Each channel talks to the engine; none imports Rasa."""
