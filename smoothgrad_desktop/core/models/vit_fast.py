"""A Vision Transformer that computes only what its class score needs: the last block for the class token alone.

A ViT classifier with class-token pooling (timm's ``VisionTransformer`` with ``global_pool='token'``) reads one row
of its last block's output, the class token's. Every other row of that block is computed and then thrown away:
their queries, their attention rows, their output projections and their MLPs, about 84 % of the last block, or
7 % of a ViT-B/16's forward pass and the same share of the backward pass that a gradient needs. The keys and
values of every token are still needed (the class token attends to all of them), and every earlier block is
needed whole.

:func:`class_token_vit` wraps such a model so that its last block runs for the class token only. The function is
the same (same parameters, same scores, the same gradient with respect to the input up to float rounding), and
the wrapper is only used after it reproduced the original model's scores on a random input at load time; any
model it does not recognise, or whose scores differ, is left as it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NOTE = "last transformer block computed for the class token only (the scores read nothing else)"


class ClassTokenViT(nn.Module):
    """timm ``VisionTransformer`` whose last block runs for the class token only (see the module docstring)."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit

    @property
    def num_classes(self) -> int:
        return self.vit.num_classes

    @property
    def pretrained_cfg(self) -> dict:
        return self.vit.pretrained_cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.vit
        x = v.norm_pre(v.patch_drop(v._pos_embed(v.patch_embed(x))))
        for block in v.blocks[:-1]:
            x = block(x)
        x = v.norm(_last_block_class_token(v.blocks[-1], x))
        return v.forward_head(x)


def _last_block_class_token(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """timm's ``Block`` (pre-norm attention + MLP, both residual) for the class token (row 0) of ``x``:
    ``(B, N, C) -> (B, 1, C)``."""
    attn = block.attn
    batch, tokens, _ = x.shape
    heads, dim = attn.num_heads, attn.head_dim
    width = heads * dim  # the rows of the fused qkv projection: queries, then keys, then values
    h = block.norm1(x)
    weight, bias = attn.qkv.weight, attn.qkv.bias
    q = F.linear(h[:, :1], weight[:width], None if bias is None else bias[:width])
    kv = F.linear(h, weight[width:], None if bias is None else bias[width:])
    q = q.view(batch, 1, heads, dim).transpose(1, 2)
    k, v = kv.view(batch, tokens, 2, heads, dim).permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    o = F.scaled_dot_product_attention(q, k, v, scale=float(attn.scale))
    o = attn.proj_drop(attn.proj(attn.norm(o.transpose(1, 2).reshape(batch, 1, width))))
    y = x[:, :1] + block.drop_path1(block.ls1(o))
    return y + block.drop_path2(block.ls2(block.mlp(block.norm2(y))))


def _recognised(model: nn.Module) -> bool:
    try:
        from timm.layers import Attention
        from timm.models.vision_transformer import Block, VisionTransformer
    except ImportError:
        return False
    if type(model) is not VisionTransformer:  # subclasses may change the forward pass
        return False
    if getattr(model, "global_pool", None) != "token" or getattr(model, "attn_pool", None) is not None:
        return False
    if not getattr(model, "has_class_token", False) or getattr(model, "grad_checkpointing", False):
        return False
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential) or len(blocks) < 1:
        return False
    last = blocks[-1]
    attn = getattr(last, "attn", None)
    return (type(last) is Block and type(attn) is Attention and getattr(attn, "gate", None) is None
            and attn.qkv.out_features == 3 * attn.num_heads * attn.head_dim)


def class_token_vit(model: nn.Module, input_size: tuple[int, int, int]) -> tuple[nn.Module, str | None]:
    """``(ClassTokenViT(model), NOTE)`` when ``model`` is a recognised class-token ViT whose scores the wrapper
    reproduces on a random input of ``input_size`` (C, H, W); else ``(model, None)``. ``model`` must be in eval
    mode with frozen parameters."""
    if not _recognised(model):
        return model, None
    fast = ClassTokenViT(model).eval()
    device = next(model.parameters()).device
    x = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        with torch.no_grad():
            want, got = model(x), fast(x)
    except Exception:  # noqa: BLE001 - anything unexpected: keep the model as timm built it
        return model, None
    if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max())):
        return model, None
    return fast, NOTE
