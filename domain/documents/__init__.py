"""The signed document (S-10, S-12, S-27), one concept a module: `fonts` finds the scripts'
fonts, `rendering` typesets the PDF, `evidence` writes its last page, `certificates` holds
the programme's PKI, `sealing` seals it (PAdES B-LT), `storage` keeps it content-addressed,
and `verification` checks it later."""
