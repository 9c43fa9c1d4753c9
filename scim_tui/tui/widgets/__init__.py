"""Widgets of the dashboard; each takes plain engine data and renders it as rich Text."""
