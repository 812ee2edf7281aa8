"""TODO (being written): conv2d, conv_transpose2d."""

def conv2d(*args, **kwargs):
    raise NotImplementedError('conv2d')


def conv_transpose2d(*args, **kwargs):
    raise NotImplementedError('conv_transpose2d')


