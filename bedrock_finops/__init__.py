__version__ = "0.1.0"

from bedrock_finops import compiled as _compiled

_compiled.install()  # before any parse module is imported: see compiled.py
