"""The signed document (S-10, S-12), one concept a module: `rendering` makes the PDF,
`certificates` holds the programme CA, `sealing` seals it (PAdES), `storage` keeps it
content-addressed, and `verification` checks it later."""
