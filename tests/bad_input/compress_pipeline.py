"""Bad-input rows of the entropy coders, distillation, the artifact and the pipeline."""

from __future__ import annotations

import importlib

import numpy as np

from tensornet import nn
from tensornet.compress.artifact import (
    CompressedModel,
    architecture,
    build_architecture,
    dense_bytes,
)
from tensornet.compress.distill import TeacherBatches, make_optimizer
from tensornet.compress.entropy import (
    HuffmanStream,
    HuffmanTable,
    TunstallDictionary,
    TunstallStream,
    empirical_entropy,
    huffman_decode,
    huffman_encode,
    huffman_table,
    tunstall_decode,
    tunstall_dictionary,
    tunstall_encode,
)
from tests.bad_input import Row

# by import_module: the package may export functions named like these modules (pipeline, distill)
artifact, distill, entropy, pipeline = (
    importlib.import_module(f"tensornet.compress.{name}")
    for name in ("artifact", "distill", "entropy", "pipeline")
)
MODULES = [entropy, distill, artifact, pipeline]

V, T = ValueError, TypeError
FLOATS = np.array([0.5, 1.5])
NAN = np.array([1.0, np.nan])
STR = np.array(["a", "b"])
TABLE = huffman_table([0, 1, 1])
DICT = tunstall_dictionary([0, 1, 1], n_bits=2)
X = np.zeros((8, 4), dtype=np.float32)
Y = np.zeros(8, dtype=np.int64)


def _net():
    return nn.Sequential(("fc", nn.Linear(4, 2, random_state=0)))


ROWS: list[Row] = []


def rows(name, *specs):
    ROWS.extend(Row(name, kind, call, exc, match) for kind, call, exc, match in specs)


rows(
    "empirical_entropy",
    ("float_array", lambda: empirical_entropy(FLOATS), T, "symbols must be an array of integers"),
    ("str_array", lambda: empirical_entropy(STR), T, "symbols must be a real numeric array"),
    ("ndim", lambda: empirical_entropy(np.zeros((2, 2), int)), V, "symbols must be 1-D"),
)
rows(
    "huffman_table",
    ("nan", lambda: huffman_table(NAN), T, "symbols must be an array of integers"),
    ("none", lambda: huffman_table(None), T, "symbols must be a real numeric array"),
)
rows(
    "huffman_encode",
    ("float_array", lambda: huffman_encode(FLOATS), T, "symbols must be an array of integers"),
    ("table_type", lambda: huffman_encode([0], table="x"), T, "table must be a HuffmanTable"),
    ("unknown_symbol", lambda: huffman_encode([5], table=TABLE), V, r"symbols \[5\] are not in"),
    ("uint64_overflow", lambda: huffman_encode(np.array([2**64 - 1], np.uint64)), V, "above"),
)
rows(
    "huffman_decode",
    ("type", lambda: huffman_decode(b"\x00"), T, "stream must be a HuffmanStream"),
)
rows(
    "HuffmanTable",
    ("kraft", lambda: HuffmanTable(np.array([0, 1, 2]), np.array([1, 1, 1])), V, "Kraft"),
    ("duplicate", lambda: HuffmanTable(np.array([0, 0]), np.array([1, 1])), V, "distinct"),
    ("float", lambda: HuffmanTable(FLOATS, np.array([1, 1])), T, "must be integers"),
    ("shape", lambda: HuffmanTable(np.array([0, 1]), np.array([1])), V, "equal shape"),
    ("too_long", lambda: HuffmanTable(np.array([0, 1]), np.array([1, 60])), V, r"\[1, 57\]"),
)
rows(
    "HuffmanStream",
    (
        "truncated",
        lambda: HuffmanStream(np.zeros(1, np.uint8), 20, 3, TABLE),
        V,
        "HuffmanStream.n_bits=20 needs 3 bytes",
    ),
    ("dtype", lambda: HuffmanStream(np.zeros(1), 8, 1, TABLE), V, "1-D uint8 array"),
    ("table", lambda: HuffmanStream(np.zeros(0, np.uint8), 0, 0, DICT), T, "HuffmanTable"),
    ("negative", lambda: HuffmanStream(np.zeros(0, np.uint8), 0, -1, TABLE), V, "n_symbols=-1"),
)
rows(
    "tunstall_dictionary",
    ("n_bits", lambda: tunstall_dictionary(np.arange(5), n_bits=2), V, "n_bits=2 cannot index"),
    ("n_bits_type", lambda: tunstall_dictionary([0, 1], n_bits=2.5), T, "n_bits must be"),
    ("n_bits_big", lambda: tunstall_dictionary([0, 1], n_bits=40), V, "n_bits=40 must be <= 20"),
)
rows(
    "tunstall_encode",
    ("float_array", lambda: tunstall_encode(FLOATS), T, "symbols must be an array of integers"),
    ("dictionary", lambda: tunstall_encode([0], dictionary=TABLE), T, "TunstallDictionary"),
    ("unknown_symbol", lambda: tunstall_encode([7], dictionary=DICT), V, r"symbols \[7\]"),
)
rows(
    "tunstall_decode",
    ("type", lambda: tunstall_decode(huffman_encode([0, 1])), T, "TunstallStream"),
)
rows(
    "TunstallDictionary",
    (
        "offsets",
        lambda: TunstallDictionary(np.arange(2), np.zeros(3, int), np.array([0, 2]), 2),
        V,
        "offsets must run from 0",
    ),
    (
        "index",
        lambda: TunstallDictionary(np.arange(2), np.array([0, 5]), np.array([0, 1, 2]), 2),
        V,
        "words must index",
    ),
    (
        "too_many",
        lambda: TunstallDictionary(np.arange(2), np.zeros(3, int), np.arange(4), 1),
        V,
        "2\\*\\*n_bits=2",
    ),
)
rows(
    "TunstallStream",
    ("dtype", lambda: TunstallStream(STR, 8, 1, DICT), V, "1-D uint8 array"),
    ("dictionary", lambda: TunstallStream(np.zeros(0, np.uint8), 0, 0, TABLE), T, "Tunstall"),
)
# ------------------------------------------------------------------------------ distillation
rows(
    "TeacherBatches",
    ("teacher", lambda: TeacherBatches("t", (X, Y)), T, "teacher must be a tensornet.nn.Module"),
    ("data", lambda: TeacherBatches(_net(), 5), T, "data must be an"),
    ("batch_size", lambda: TeacherBatches(_net(), (X, Y), batch_size=0), V, "batch_size=0"),
)
rows(
    "make_optimizer",
    ("name", lambda: make_optimizer(_net().params, "rmsprop"), V, "optimizer='rmsprop'"),
    ("lr", lambda: make_optimizer(_net().params, lr=-1.0), V, "lr=-1.0 must be > 0"),
    ("lr_nan", lambda: make_optimizer(_net().params, lr=float("nan")), V, "lr=nan"),
    ("epochs", lambda: make_optimizer(_net().params, epochs=0), V, "epochs=0"),
)
rows(
    "distill",
    ("student", lambda: distill.distill("s", _net(), (X, Y)), T, "student must be"),
    ("alpha", lambda: distill.distill(_net(), _net(), (X, Y), alpha=2.0), V, "alpha=2.0"),
    ("temperature", lambda: distill.distill(_net(), _net(), (X, Y), temperature=0), V, "temp"),
    ("hooks", lambda: distill.distill(_net(), _net(), (X, Y), hooks=[1]), T, "attach"),
    ("epochs", lambda: distill.distill(_net(), _net(), (X, Y), epochs=0), V, "epochs=0"),
)
# ------------------------------------------------------------------------------ artifact
rows(
    "architecture",
    ("layer", lambda: architecture(nn.Sequential(("m", nn.Module()))), T, "model.m is a Module"),
)
rows(
    "build_architecture",
    ("type", lambda: build_architecture({"type": "Magic"}), V, "unknown layer type 'Magic'"),
    ("not_dict", lambda: build_architecture([1]), V, "must be a dict with a 'type'"),
    ("children", lambda: build_architecture({"type": "Sequential"}), V, "list of children"),
)
rows(
    "dense_bytes",
    ("model", lambda: dense_bytes("model"), T, "model must be a tensornet.nn.Module"),
)
rows(
    "CompressedModel",
    ("model", lambda: CompressedModel.from_model("m"), T, "model must be a tensornet.nn.Module"),
    ("coding", lambda: CompressedModel.from_model(_net(), coding="zip"), V, "coding"),
    ("index_bits", lambda: CompressedModel.from_model(_net(), index_bits=0), V, "index_bits=0"),
    (
        "mask_name",
        lambda: CompressedModel.from_model(_net(), masks={"fc.w": np.ones(2, bool)}),
        V,
        r"masks names \['fc.w'\] are not arrays of the model",
    ),
    (
        "mask_shape",
        lambda: CompressedModel.from_model(_net(), masks={"fc.weight": np.ones(3, bool)}),
        V,
        r"masks\['fc.weight'\] has shape \(3,\)",
    ),
    (
        "quantized",
        lambda: CompressedModel.from_model(_net(), quantized={"fc.weight": 1}),
        V,
        "must be a QuantizedTensor",
    ),
    ("missing_file", lambda: CompressedModel.load("/nonexistent/a.npz"), FileNotFoundError, "no"),
)
# ------------------------------------------------------------------------------ pipeline
rows(
    "pipeline",
    ("model", lambda: pipeline.pipeline("m", []), T, "model must be a tensornet.nn.Module"),
    ("steps", lambda: pipeline.pipeline(_net(), "prune"), T, "steps must be a list of dicts"),
    ("step", lambda: pipeline.pipeline(_net(), [{"step": "x"}]), V, r"\['step'\]='x'"),
    ("fine_tune", lambda: pipeline.pipeline(_net(), [], fine_tune=3), T, "fine_tune must be"),
    (
        "no_data",
        lambda: pipeline.pipeline(_net(), [{"step": "prune", "sparsity": 0.5}], fine_tune={}),
        V,
        "data=",
    ),
    (
        "sparsity",
        lambda: pipeline.pipeline(_net(), [{"step": "prune", "sparsity": 1.5}]),
        V,
        "sparsity",
    ),
    (
        "bits",
        lambda: pipeline.pipeline(_net(), [{"step": "quantize", "bits": {"fc.bias": 3}}]),
        V,
        "bits has no entry for 'fc.weight'",
    ),
    ("seed", lambda: pipeline.pipeline(_net(), [], random_state="s"), T, "random_state"),
)
