"""TODO (being written): embedding."""

def embedding(*args, **kwargs):
    raise NotImplementedError('embedding')


