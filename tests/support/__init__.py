"""Helpers shared by the tests: servers on 127.0.0.1, feeds, receivers, daemons."""
