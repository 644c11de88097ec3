"""Shared fixtures: scripted local servers for models, search and web pages."""

pytest_plugins = ["tests.fixtures.llm", "tests.fixtures.web"]
