"""The developer and moderator tools behind `signpost train`, `signpost eval` and `signpost classify`."""
