"""torchvision's data set classes, on shendu's readers: ``datasets.MNIST(root, train=True, transform=...)``.

PyTorch programs build their data as ``datasets.MNIST('../data', train=True, download=True,
transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))``
and hand it to a ``DataLoader``. These classes take the same arguments and have torchvision's
attributes (``data``: uint8 images, (N, 28, 28) or CIFAR's (N, 32, 32, 3); ``targets``;
``classes``). Samples are ``(image, label)``; the loader fetches whole batches by fancy indexing
and runs the transforms once per batch. ``root`` is searched first, then shendu's usual folders
(see :func:`fashion_mnist`).
"""
from ..dataset import TensorDataset, TransformDataset
from ._cifar import CIFAR10_CLASSES, cifar10
from ._idx import FASHION_MNIST_CLASSES, fashion_mnist, mnist


class _VisionDataset(TransformDataset):
    classes = ()

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        (x, y), (xt, yt) = self._read(root, download)
        self.root, self.train = root, bool(train)
        self.data, self.targets = (x, y) if train else (xt, yt)
        super().__init__(TensorDataset(self.data, self.targets), transform, target_transform)

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def __repr__(self):
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Split: {split}\n    Transform: {self.transform!r}")


class MNIST(_VisionDataset):
    """LeCun's handwritten digits, 60,000 training / 10,000 test grey 28x28 images."""

    classes = tuple(f"{i} - {name}" for i, name in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]))

    @staticmethod
    def _read(root, download):
        return mnist(root, download=download)


class FashionMNIST(_VisionDataset):
    """Zalando's Fashion-MNIST, 60,000 training / 10,000 test grey 28x28 images of clothes."""

    classes = tuple(FASHION_MNIST_CLASSES)

    @staticmethod
    def _read(root, download):
        return fashion_mnist(root, download=download)


class CIFAR10(_VisionDataset):
    """CIFAR-10, 50,000 training / 10,000 test colour 32x32 images; ``data`` is (N, 32, 32, 3) uint8."""

    classes = tuple(CIFAR10_CLASSES)

    @staticmethod
    def _read(root, download):
        (x, y), (xt, yt) = cifar10(root, download=download, channels_last=True)
        return (x, y), (xt, yt)

