"""Prints ampc.torch.export's MLIR for the small model named on the command
line (the torch-import lit test FileChecks it)."""
import sys

import ampc.torch as at
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        h = F.max_pool2d(h, 3, stride=2, padding=1, ceil_mode=True)
        return self.fc(self.drop(h.mean((2, 3))))


class Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.triu(torch.ones(3, 3, dtype=torch.bool), 1))
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        scores = self.proj(x) @ x.transpose(1, 2)
        return torch.softmax(scores.masked_fill(self.mask, float("-inf")), dim=-1)


class Eval(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4).eval()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.bn(x))


MODELS = {"conv_bn": (ConvBN, (2, 3, 8, 8)), "masked": (Masked, (2, 3, 4)), "eval": (Eval, (2, 4))}

if __name__ == "__main__":
    make, shape = MODELS[sys.argv[1]]
    torch.manual_seed(0)
    print(at.export(make(), torch.randn(*shape)).text)
