"""noisyskl's benchmarks: one command line, ``python -m benchmarks <command>``.

Not part of the installed library (the wheel packages ``noisyskl`` only); run
from the repository's root. Each command is a module of this package with a
``main(argv)``, also runnable as ``python -m benchmarks.<module>``; what they
share is in :mod:`benchmarks.common`. They use noisyskl's public API only.
The experiments that chose the defaults are archived in ``benchmarks/archive``
(not maintained; see its README).
"""
