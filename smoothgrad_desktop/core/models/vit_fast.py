"""A Vision Transformer prepared for input gradients: the same function, less work per gradient.

For a timm ``VisionTransformer`` with class-token pooling (``global_pool='token'``), :class:`ClassTokenViT` runs the
same blocks with the same parameters, with two changes that leave the scores and their gradients as they are (up
to float rounding):

* **The last block runs for the class token only.** The scores read one row of the last block's output. Every
  other row's query, attention row, output projection and MLP are computed by the plain model and thrown away:
  about 84 % of the last block, 7 % of a ViT-B/16's forward pass and of the backward pass a gradient needs. The
  keys and values of all tokens are still computed (the class token attends to all of them), and every earlier
  block runs whole.
* **The fused query/key/value projection hands its three outputs to attention as views and takes their gradients
  back without gathering them** (:class:`_SplitQKV`). timm reshapes, permutes and unbinds the projection's output;
  autograd then stacks the three gradients into a new tensor and copies it back into the projection's layout,
  two passes over three activations per block, before one matrix product. Here the input gradient is three matrix
  products accumulated into one buffer (``addmm_``) straight from the attention's gradients.

Measured on a 2-core CPU (2 threads), ViT-B/16, batches of 10, process CPU time per sample: the split projection
0.92 of timm's forward + input gradient, both changes 0.90 (``bench/bench_vit.py`` compares whole SmoothGrad runs
with Captum).

:func:`class_token_vit` uses the wrapper only for the plain timm classes it was written against, and only after the
wrapper reproduced the model's scores and its input gradient on a random input at load time; any other model, or a
mismatch, leaves the model as timm built it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NOTE = ("prepared for input gradients: last transformer block for the class token only, query/key/value "
        "gradients without copies (scores and gradients checked against the plain model at load)")


class _SplitQKV(torch.autograd.Function):
    """``h -> (q, k, v)`` of a fused projection ``h @ W.T + b`` (rows of ``W``: queries, keys, values), returned as
    views of one output; the backward accumulates the input gradient from the three gradients directly."""

    @staticmethod
    def forward(ctx, h, weight, bias, width: int):
        qkv = F.linear(h, weight, bias)
        ctx.save_for_backward(h, weight)
        ctx.width = width
        return qkv[..., :width], qkv[..., width:2 * width], qkv[..., 2 * width:]

    @staticmethod
    def backward(ctx, gq, gk, gv):
        h, weight = ctx.saved_tensors
        width = ctx.width
        # under autocast the outputs (and so their gradients) are in the autocast dtype: compute in that dtype, as
        # autocast's own linear backward does, and hand back each gradient in its input's dtype
        dtype = next((g.dtype for g in (gq, gk, gv) if g is not None), h.dtype)
        grads = [torch.zeros(*h.shape[:-1], width, dtype=dtype, device=h.device) if g is None else g.to(dtype)
                 for g in (gq, gk, gv)]
        flat = [g.reshape(-1, width) for g in grads]
        w = weight.to(dtype)
        dh = dw = db = None
        if ctx.needs_input_grad[0]:
            dh = torch.mm(flat[0], w[:width])
            dh.addmm_(flat[1], w[width:2 * width])
            dh.addmm_(flat[2], w[2 * width:])
            dh = dh.view(h.shape).to(h.dtype)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            g = torch.cat(flat, dim=1)
            dw = g.t().mm(h.reshape(-1, h.shape[-1]).to(dtype)).to(weight.dtype) if ctx.needs_input_grad[1] else None
            db = g.sum(0).to(weight.dtype) if ctx.needs_input_grad[2] else None
        return dh, dw, db, None


def _attention(attn: nn.Module, h: torch.Tensor, *, class_token_only: bool = False) -> torch.Tensor:
    """timm's ``Attention`` without a mask; with ``class_token_only`` for the class token's query (row 0) alone."""
    batch, tokens, _ = h.shape
    heads, dim = attn.num_heads, attn.head_dim
    width = heads * dim
    weight, bias = attn.qkv.weight, attn.qkv.bias
    if class_token_only:
        q = F.linear(h[:, :1], weight[:width], None if bias is None else bias[:width])
        kv = F.linear(h, weight[width:], None if bias is None else bias[width:])
        k, v = kv[..., :width], kv[..., width:]
    else:
        q, k, v = _SplitQKV.apply(h, weight, bias, width)
    rows = q.shape[1]
    q = q.view(batch, rows, heads, dim).transpose(1, 2)
    k = k.view(batch, tokens, heads, dim).transpose(1, 2)
    v = v.view(batch, tokens, heads, dim).transpose(1, 2)
    q, k = attn.q_norm(q), attn.k_norm(k)
    o = F.scaled_dot_product_attention(q, k, v, scale=float(attn.scale))
    return attn.proj_drop(attn.proj(attn.norm(o.transpose(1, 2).reshape(batch, rows, width))))


def _block(block: nn.Module, x: torch.Tensor, *, class_token_only: bool = False) -> torch.Tensor:
    """timm's ``Block`` (pre-norm attention and MLP, both residual); ``(B, N, C) -> (B, 1, C)`` with
    ``class_token_only``."""
    a = _attention(block.attn, block.norm1(x), class_token_only=class_token_only)
    x = (x[:, :1] if class_token_only else x) + block.drop_path1(block.ls1(a))
    return x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))))


class ClassTokenViT(nn.Module):
    """A timm ``VisionTransformer`` prepared for input gradients (see the module docstring)."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit

    @property
    def num_classes(self) -> int:
        return self.vit.num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.vit
        x = v.norm_pre(v.patch_drop(v._pos_embed(v.patch_embed(x))))
        for block in v.blocks[:-1]:
            x = _block(block, x)
        x = v.norm(_block(v.blocks[-1], x, class_token_only=True))
        return v.forward_head(x)


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
    for block in blocks:
        attn = getattr(block, "attn", None)
        if not (type(block) is Block and type(attn) is Attention and getattr(attn, "gate", None) is None
                and attn.qkv.out_features == 3 * attn.num_heads * attn.head_dim):
            return False
    return True


def _same(got: torch.Tensor, want: torch.Tensor) -> bool:
    scale = float(want.abs().max())
    return got.shape == want.shape and bool(torch.isfinite(got).all()) and \
        float((got - want).abs().max()) <= 1e-4 * max(scale, 1e-12)


def class_token_vit(model: nn.Module, input_size: tuple[int, int, int]) -> tuple[nn.Module, str | None]:
    """``(ClassTokenViT(model), NOTE)`` when ``model`` is a recognised class-token ViT whose scores and input
    gradient the wrapper reproduces on a random input of ``input_size`` (C, H, W); else ``(model, None)``.
    ``model`` must be in eval mode."""
    if not _recognised(model):
        return model, None
    fast = ClassTokenViT(model).eval()
    device = next(model.parameters()).device
    x = torch.randn(1, *input_size, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        with torch.enable_grad():
            xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
            want, got = model(xb), fast(xa)
            target = int(want[0].argmax())
            (grad_want,) = torch.autograd.grad(want[0, target], xb)
            (grad_got,) = torch.autograd.grad(got[0, target], xa)
    except Exception:  # noqa: BLE001 - anything unexpected: keep the model as timm built it
        return model, None
    if not (_same(got.detach(), want.detach()) and _same(grad_got, grad_want)):
        return model, None
    return fast, NOTE
