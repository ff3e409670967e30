"""The optional C extensions; everything else about the package is in pyproject.toml.

Each is built when a C compiler and the Python headers are present. ``optional=True``: when
the build fails the install still succeeds, and the pure-Python twin next to each
(``line_scan.py``, ``row_batch.py``, ``parse_scalars.py``) gives the same results, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bedrock_finops._linescan", ["bedrock_finops/_linescan.c"], optional=True),
        Extension("bedrock_finops._rowbatch", ["bedrock_finops/_rowbatch.c"], optional=True),
        Extension("bedrock_finops._timestamps", ["bedrock_finops/_timestamps.c"], optional=True),
    ]
)
