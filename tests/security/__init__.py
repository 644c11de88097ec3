"""The attack corpus of the security tests: hostile bodies, addresses and requests."""
