"""API resources: one module per part of the contract, all on the one API blueprint."""
