"""Services: one function per use case. Each authorises, raises domain exceptions and is the
one commit point (through :func:`mda.services.uow.unit_of_work`)."""
