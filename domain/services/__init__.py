"""Use cases. Each takes the actor and the time, runs in one transaction, checks the
rules, writes audit events, and returns a result or raises DomainError."""
