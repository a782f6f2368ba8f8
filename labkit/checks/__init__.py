"""Checks of a converged stack: what its users meet, open ports, SSH's algorithms."""
