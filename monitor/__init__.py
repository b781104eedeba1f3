"""monitor: watches news feeds for topics and raises alerts."""
