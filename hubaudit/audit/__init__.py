"""The audits of a scan, composed from the layers above: ``options`` (what a scan is asked), ``sampled`` (the sampled
model they read), ``properties`` and ``fairness`` (the two audits, a package each), ``plan`` (planning before a
scan) and ``scan`` (the composer: :func:`~hubaudit.audit.scan.run_scan`)."""
