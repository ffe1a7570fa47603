"""The built-in attribution methods, one module each (importing this package registers them)."""

from . import gxa, ig, occlusion, pairs, shapley, smoothgrad  # noqa: F401
