"""TODO (being written): softmax, log_softmax, scaled_dot_product_attention."""

def softmax(*args, **kwargs):
    raise NotImplementedError('softmax')


def log_softmax(*args, **kwargs):
    raise NotImplementedError('log_softmax')


def scaled_dot_product_attention(*args, **kwargs):
    raise NotImplementedError('scaled_dot_product_attention')


