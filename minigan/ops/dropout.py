"""TODO (being written): dropout."""

def dropout(*args, **kwargs):
    raise NotImplementedError('dropout')


