"""TODO (being written): batch_norm, layer_norm."""

def batch_norm(*args, **kwargs):
    raise NotImplementedError('batch_norm')


def layer_norm(*args, **kwargs):
    raise NotImplementedError('layer_norm')


