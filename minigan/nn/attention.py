"""TODO (being written): MultiheadAttention."""


class MultiheadAttention:
    def __init__(self, *a, **k):
        raise NotImplementedError
