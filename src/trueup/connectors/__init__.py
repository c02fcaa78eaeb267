"""Connectors: one package per system. Each has a client (the wire), a mapping (wire ⇄ model) and a
connector (the ports). They never import flows."""
