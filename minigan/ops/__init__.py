"""Kernels, one file per family, each a set of :class:`~minigan.autograd.Function` s.

Every kernel asks the backend for ``xp`` (NumPy or CuPy) and is written once for both.
"""
