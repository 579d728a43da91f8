"""A small ResNet, built from shendu.nn exactly as it would be in PyTorch, trained on digits.

    python examples/residual_block.py

Each residual block computes y = relu(F(x) + shortcut(x)), with F = conv-bn-relu-conv-bn and a
1x1 convolution as the shortcut when the shape changes.
"""
import numpy as np

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
import shendu.optim as optim
from shendu.data import DataLoader, TensorDataset, datasets


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = ResidualBlock(16, 16)
        self.layer2 = ResidualBlock(16, 32, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(self.pool(x).flatten(1))


def main(epochs=5):
    sd.manual_seed(0)
    (x, y), (xt, yt) = datasets.digits()
    train = DataLoader(TensorDataset(x[:, None], y), batch_size=32, shuffle=True)
    model = SmallResNet()
    print(model)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(epochs):
        model.train()
        for xb, yb in train:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with sd.no_grad():
            acc = float((model(sd.tensor(xt[:, None])).argmax(dim=1).numpy() == yt).mean())
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
