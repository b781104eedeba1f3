"""monitor: watches news feeds for topics and raises alerts."""

from monitor import dataclass_code as _dataclass_code

# Before any of the package's dataclasses (and those of the libraries it imports) are
# made: their generated methods' code is read from the last process's (~0.1 s a process).
_dataclass_code.install()
