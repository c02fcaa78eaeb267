"""Alerts to each owner team (e-mail, Slack, a signed webhook) and the daily report. docs/alerts.md"""
