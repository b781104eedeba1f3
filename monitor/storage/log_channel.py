"""The outbox's name for the alert log (a channel of every configuration), in a module of
its own: the app names its channels before it knows whether it needs SQLAlchemy."""

LOG_CHANNEL = "log"
