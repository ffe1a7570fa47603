"""The built-in pixel methods, one module each (importing this package registers them, in the
order they are offered: Grad-CAM, saliency, gradient x input, integrated gradients)."""

from . import gradcam, gradients, ig  # noqa: F401
