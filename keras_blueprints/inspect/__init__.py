"""Looking inside a trained convolutional model: what its layers respond to.

One module per method: :mod:`.deconvnet` (Zeiler & Fergus 2014), :mod:`.occlusion`,
:mod:`.saliency` (input gradients and Grad-CAM) and :mod:`.filters` (first-layer
kernels and feature maps). Each returns NumPy arrays; :mod:`.figures` draws them.
"""
