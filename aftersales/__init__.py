"""After-sales service analytics: shared configuration, database access and the CLI."""

__version__ = "0.1.0"
