"""arq workers: thin jobs that call domain services."""
