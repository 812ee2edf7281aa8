"""A word-level tokenizer: text -> padded int64 ids and a key-padding mask.

Text is lower-cased and every character that is not a letter, a digit or white space becomes
a space ("Top-left!" -> "top left"); the words are then looked up in the vocabulary. Id 0 is
``<pad>``, id 1 is ``<unk>``, the data's words follow in the order given (``Tokenizer.words``,
saved in checkpoints as that list, so the ids never depend on a dict's order).

``encode`` (for training captions) maps unknown words to ``<unk>`` silently; ``encode_prompts``
(for what a user typed) warns once per prompt naming the unknown words
(:class:`UnknownWordWarning`) and refuses a prompt with no known word at all
(:class:`minigan.ArgumentError`).
"""
from __future__ import annotations

import re
import warnings
from typing import Iterable, Sequence

import numpy as np

from ..errors import ArgumentError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_NOT_WORD = re.compile(r"[^0-9a-z\s]+")


class UnknownWordWarning(UserWarning):
    """A prompt holds a word the model never saw in training (it is read as ``<unk>``)."""


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` with punctuation stripped."""
    return _NOT_WORD.sub(" ", str(text).lower()).split()


class Tokenizer:
    """Word-level tokenizer over a fixed vocabulary.

    >>> tok = Tokenizer(["a", "red", "circle"])
    >>> ids, pad = tok.encode(["A red circle.", "a circle"])
    >>> ids.tolist(), pad.tolist()
    ([[2, 3, 4], [2, 4, 0]], [[False, False, False], [False, False, True]])
    """

    def __init__(self, words: Iterable[str]) -> None:
        words = [str(w) for w in words]
        vocab = [w for w in words if w not in (PAD, UNK)]
        bad = [w for w in vocab if words_of(w) != [w]]
        if bad:
            raise ArgumentError(f"Tokenizer: vocabulary entries must be single lower-case words "
                                f"without punctuation, got {bad[:5]}")
        if len(set(vocab)) != len(vocab):
            raise ArgumentError("Tokenizer: the vocabulary repeats a word")
        self.words = [PAD, UNK] + vocab
        self.ids = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Tokenizer":
        """The vocabulary of every word in ``texts``, sorted."""
        return cls(sorted({w for t in texts for w in words_of(t)}))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def tokens(self, text: str) -> list[int]:
        return [self.ids.get(w, UNK_ID) for w in words_of(text)]

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in words_of(text) if w not in self.ids]

    def encode(self, texts: Sequence[str], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (N, T), padding_mask bool (N, T)): each text's ids, padded with 0 to
        ``length`` (default: the longest text's length; a longer text raises). The mask is True
        at padding, the convention of ``nn.MultiheadAttention``'s ``key_padding_mask``. An empty
        text keeps one ``<pad>`` position (fully masked): use :meth:`encode_prompts` for
        user input, which refuses it."""
        if isinstance(texts, str):
            raise ArgumentError("Tokenizer.encode: give a list of texts, not one string")
        rows = [self.tokens(t) for t in texts]
        longest = max((len(r) for r in rows), default=0)
        if length is None:
            length = max(longest, 1)
        elif longest > length:
            raise ArgumentError(f"Tokenizer.encode: a text has {longest} words, more than "
                                f"length={length}")
        ids = np.zeros((len(rows), length), np.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
        return ids, ids == PAD_ID

    def encode_prompts(self, prompts: Sequence[str], length: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode` for what a user typed: an unknown word warns (one line naming it,
        :class:`UnknownWordWarning`) and is read as ``<unk>``; a prompt that is empty or holds
        only unknown words raises :class:`minigan.ArgumentError` naming the prompt."""
        if isinstance(prompts, str):
            prompts = [prompts]
        for prompt in prompts:
            words = words_of(prompt)
            if not words:
                raise ArgumentError(f"prompt {prompt!r}: it has no words (an empty prompt)")
            unknown = self.unknown_words(prompt)
            if len(unknown) == len(words):
                raise ArgumentError(f"prompt {prompt!r}: none of its words is known to the model "
                                    f"(known words: {', '.join(self.words[2:])})")
            if unknown:
                warnings.warn(f"prompt {prompt!r}: unknown word{'s' * (len(unknown) > 1)} "
                              f"{', '.join(repr(w) for w in unknown)} read as {UNK}",
                              UnknownWordWarning, stacklevel=2)
        return self.encode(prompts, length)
