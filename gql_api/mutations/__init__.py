"""One module per area; each mutation turns its input into one service call."""
