"""TODO (being written): linear."""

def linear(*args, **kwargs):
    raise NotImplementedError('linear')


