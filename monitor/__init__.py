"""monitor: watches news feeds for topics and raises alerts."""

from monitor import source_code_cache as _source_code_cache

# Before any of the package's dataclasses and models (and those of the libraries it
# imports) are made: the code their methods and annotations compile to is read from the
# last process's (~0.1 s a process).
_source_code_cache.install()
