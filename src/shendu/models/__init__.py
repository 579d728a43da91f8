"""shendu.models: reusable application models built on ``nn`` and ``train``.

Generative models: :class:`Autoencoder`, :class:`ConvAutoencoder`, :class:`DenoisingAutoencoder`,
:class:`VAE` (with :func:`vae_loss`, :class:`ELBOLoss`), :class:`DCGAN` (:class:`DCGANGenerator`,
:class:`DCGANDiscriminator`, :func:`dcgan_weights_init`) and :class:`GANTrainer` (docs/generative.md).

Sequence models: :class:`CharRNN` (a character language model with sampling and acrostic poems) and
:class:`Seq2Seq` (a GRU encoder-decoder with attention, greedy and beam-search decoding)
(docs/sequence-models.md).
"""
from .autoencoder import Autoencoder, ConvAutoencoder, DenoisingAutoencoder
from .charrnn import CharRNN
from .gan import DCGAN, DCGANDiscriminator, DCGANGenerator, GANTrainer, dcgan_optimizers, dcgan_weights_init
from .seq2seq import CharVocab, Seq2Seq
from .vae import VAE, ELBOLoss, gaussian_kl, vae_loss

__all__ = ["Autoencoder", "ConvAutoencoder", "DenoisingAutoencoder", "VAE", "ELBOLoss", "gaussian_kl",
           "vae_loss", "DCGAN", "DCGANGenerator", "DCGANDiscriminator", "GANTrainer", "dcgan_weights_init",
           "dcgan_optimizers", "CharRNN", "Seq2Seq", "CharVocab"]
