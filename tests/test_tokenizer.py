"""The word tokenizer: normalisation, padding and masks, unknown words, empty prompts."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigan as mg
from minigan.data import Shapes, Tokenizer, UnknownWordWarning
from minigan.data.tokenizer import PAD_ID, UNK_ID, words_of


@pytest.fixture
def tok():
    return Tokenizer(Shapes().vocabulary())


def test_lower_cases_and_strips_punctuation(tok):
    assert words_of("A LARGE, red circle -- in the Top-Left!") == [
        "a", "large", "red", "circle", "in", "the", "top", "left"]
    a, _ = tok.encode(["A RED circle."])
    b, _ = tok.encode(["a red circle"])
    np.testing.assert_array_equal(a, b)


def test_ids_padding_and_mask(tok):
    ids, pad = tok.encode(["a red circle", "a circle", "a large blue square in the center"])
    assert ids.shape == pad.shape == (3, 7) and ids.dtype == np.int64 and pad.dtype == bool
    np.testing.assert_array_equal(pad.sum(1), [4, 5, 0])
    assert (ids[pad] == PAD_ID).all() and (ids[~pad] > UNK_ID).all()
    assert [tok.words[i] for i in ids[0, :3]] == ["a", "red", "circle"]
    ids8, pad8 = tok.encode(["a red circle"], length=8)
    assert ids8.shape == (1, 8) and pad8[0, 3:].all()
    with pytest.raises(mg.ArgumentError, match="more than length=2"):
        tok.encode(["a red circle"], length=2)
    with pytest.raises(mg.ArgumentError, match="not one string"):
        tok.encode("a red circle")


def test_vocabulary_is_a_list_that_round_trips(tok):
    assert tok.words[:2] == ["<pad>", "<unk>"] and len(tok) == tok.vocab_size == len(tok.words)
    again = Tokenizer(tok.words)                    # what a checkpoint stores and reloads
    assert again.words == tok.words
    np.testing.assert_array_equal(again.encode(["a cyan square"])[0], tok.encode(["a cyan square"])[0])
    assert Tokenizer.from_texts(["b a", "a c"]).words == ["<pad>", "<unk>", "a", "b", "c"]
    with pytest.raises(mg.ArgumentError, match="single lower-case words"):
        Tokenizer(["Red"])
    with pytest.raises(mg.ArgumentError, match="repeats"):
        Tokenizer(["a", "a"])


def test_unknown_word_warns_once_naming_it_and_reads_as_unk(tok):
    with pytest.warns(UnknownWordWarning, match=r"unknown word 'purple' read as <unk>") as record:
        ids, pad = tok.encode_prompts(["a purple circle"])
    assert len(record) == 1 and "a purple circle" in str(record[0].message)
    assert "\n" not in str(record[0].message)
    assert ids[0, 1] == UNK_ID and not pad.any()
    assert issubclass(UnknownWordWarning, UserWarning)
    with pytest.warns(UnknownWordWarning, match=r"unknown words 'purple', 'blob'"):
        tok.encode_prompts("a purple blob circle")


def test_known_prompts_do_not_warn(tok):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids, _ = tok.encode_prompts(["A red circle in the top left."])
    assert (ids > UNK_ID).all()


@pytest.mark.parametrize("prompt", ["", "   ", "?!", "..."])
def test_empty_prompt_is_an_error_naming_it(tok, prompt):
    with pytest.raises(mg.ArgumentError, match=r"prompt .*: it has no words"):
        tok.encode_prompts([prompt])


def test_prompt_of_only_unknown_words_is_an_error(tok):
    with pytest.raises(mg.ArgumentError, match=r"prompt 'purple blob': none of its words is known"):
        tok.encode_prompts(["a circle", "purple blob"])
