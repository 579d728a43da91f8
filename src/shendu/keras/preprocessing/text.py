"""``from shendu.keras.preprocessing.text import Tokenizer`` (Keras's Tokenizer, from
:mod:`shendu.data.text`)."""

from ...data.text import Tokenizer, text_to_word_sequence, tokenizer_from_json

__all__ = ["Tokenizer", "tokenizer_from_json", "text_to_word_sequence", "one_hot", "hashing_trick"]


def hashing_trick(text, n, hash_function=None, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower=True,
                  split=" "):
    """Each word as ``hash(word) % (n - 1) + 1`` (indices 1..n-1), as Keras's hashing_trick does.

    The default hash is MD5 (stable between runs); ``hash_function='md5'`` says the same."""
    import hashlib

    if hash_function is None or hash_function == "md5":
        def hash_function(w):
            return int(hashlib.md5(w.encode()).hexdigest(), 16)

    words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [int(hash_function(w) % (n - 1) + 1) for w in words]


def one_hot(input_text, n, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower=True, split=" ", **kwargs):
    """Keras's ``one_hot``: word indices by hashing (not a one-hot matrix, despite the name)."""
    return hashing_trick(input_text, n, hash_function="md5", filters=filters, lower=lower, split=split)
