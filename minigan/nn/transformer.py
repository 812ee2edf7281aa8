"""TODO (being written): TransformerEncoderLayer."""


class TransformerEncoderLayer:
    def __init__(self, *a, **k):
        raise NotImplementedError
