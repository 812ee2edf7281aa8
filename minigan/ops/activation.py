"""TODO (being written): relu, leaky_relu, tanh, sigmoid, gelu."""

def relu(*args, **kwargs):
    raise NotImplementedError('relu')


def leaky_relu(*args, **kwargs):
    raise NotImplementedError('leaky_relu')


def tanh(*args, **kwargs):
    raise NotImplementedError('tanh')


def sigmoid(*args, **kwargs):
    raise NotImplementedError('sigmoid')


def gelu(*args, **kwargs):
    raise NotImplementedError('gelu')


