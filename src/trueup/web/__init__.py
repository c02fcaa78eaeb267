"""trueup's own HTTP endpoints: inbound webhooks (the dashboard comes later)."""
