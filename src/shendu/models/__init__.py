"""shendu.models: reusable application models built on ``nn`` and ``train``.

Generative models: :class:`Autoencoder`, :class:`ConvAutoencoder`, :class:`DenoisingAutoencoder`,
:class:`VAE` (with :func:`vae_loss`, :class:`ELBOLoss`), :class:`DCGAN` (:class:`DCGANGenerator`,
:class:`DCGANDiscriminator`, :func:`dcgan_weights_init`) and :class:`GANTrainer`.
See docs/generative.md.
"""
from .autoencoder import Autoencoder, ConvAutoencoder, DenoisingAutoencoder
from .gan import DCGAN, DCGANDiscriminator, DCGANGenerator, GANTrainer, dcgan_optimizers, dcgan_weights_init
from .vae import VAE, ELBOLoss, gaussian_kl, vae_loss

__all__ = ["Autoencoder", "ConvAutoencoder", "DenoisingAutoencoder", "VAE", "ELBOLoss", "gaussian_kl",
           "vae_loss", "DCGAN", "DCGANGenerator", "DCGANDiscriminator", "GANTrainer", "dcgan_weights_init",
           "dcgan_optimizers"]
