"""The GraphQL API: a thin transport over domain services."""
