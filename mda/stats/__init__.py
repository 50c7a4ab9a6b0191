"""Statistics fed back to the programme (DESIGN.md section 7).

``aggregates`` computes the figures with SQL aggregates, ``disclosure`` protects and audits
them, ``releases`` makes, stores and reads the immutable, versioned releases. Run by the worker
and the command line, read by the web; no Flask here.
"""
