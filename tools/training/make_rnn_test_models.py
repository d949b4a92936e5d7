#!/usr/bin/python3
"""Generate the small recurrent ONNX test models in tests/data/onnx-rnn/.

Every model is a PyTorch module with random weights (fixed seeds) exported
to ONNX, because real exporter output (batch_first Transposes, the empty
sequence_lens input, Squeeze after the Y output, ConstantOfShape/Expand
initial states, ...) is what users hand to the converter.

For each model X.onnx the directory holds:
    X.input.npy          float32 sample input (graph input "input")
    X.h0.npy, X.c0.npy   initial states, for the models that take them as inputs
    X.<output>.npy       PyTorch's result for every graph output, as a reference
manifest.txt lists every model with its shapes, ONNX ops and a description.

Run with Debian's interpreter, which has torch/onnx/numpy installed:
    /usr/bin/python3 tools/training/make_rnn_test_models.py
"""

import argparse
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "onnx-rnn"
OPSETS = (11, 14)

INPUT_SIZE = 4
HIDDEN_SIZE = 8
CELLS = {
    # name: (module class, extra constructor arguments, has a cell state)
    "lstm": (nn.LSTM, {}, True),
    "gru": (nn.GRU, {}, False),
    "rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}, False),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}, False),
}


def seed_for(name):
    # Seed per model name, so adding or reordering models leaves the others unchanged.
    return zlib.crc32(name.encode("utf-8"))


def make_rnn(cell, **kwargs):
    module_class, cell_kwargs, _ = CELLS[cell]
    rnn = module_class(INPUT_SIZE, HIDDEN_SIZE, **cell_kwargs, **kwargs)
    # The default init (uniform +-1/sqrt(hidden)) keeps gates near 0.5 and
    # activations small. Wider weights and biases drive the gates into their
    # non-linear range, so gate-order or activation mistakes change the output.
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            scale = 0.6 if name.startswith("weight") else 0.4
            p.uniform_(-scale, scale)
    return rnn


def state_shape(rnn, batch):
    directions = 2 if rnn.bidirectional else 1
    return (rnn.num_layers * directions, batch, rnn.hidden_size)


# ---------------------------------------------------------------- modules --

class SequenceAndState(nn.Module):
    """Runs the RNN with its default zero initial state.

    Outputs the whole output sequence and the final hidden (and cell) state,
    so both the Y and the Y_h/Y_c outputs of the ONNX node are checked.
    """

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, state = self.rnn(x)
        if isinstance(state, tuple):
            return (out,) + state
        return out, state


class ZeroStateInForward(nn.Module):
    """Builds h0 (and c0) with torch.zeros inside forward and passes it explicitly.

    Without fixed_batch the batch dimension comes from x.size(), which the
    exporter turns into Shape/Gather/Unsqueeze/Concat/ConstantOfShape glue.
    With fixed_batch=1 the zeros are a constant, which the exporter rewrites
    into Constant [layers*dirs, 1, hidden] -> Expand to the input's batch size,
    the same graph as for the default initial state.
    """

    def __init__(self, rnn, fixed_batch=None):
        super().__init__()
        self.rnn = rnn
        self.fixed_batch = fixed_batch

    def forward(self, x):
        if self.fixed_batch is None:
            batch = x.size(0 if self.rnn.batch_first else 1)
        else:
            batch = self.fixed_batch
        directions = 2 if self.rnn.bidirectional else 1
        h0 = torch.zeros(self.rnn.num_layers * directions, batch, self.rnn.hidden_size)
        if isinstance(self.rnn, nn.LSTM):
            out, (h_n, c_n) = self.rnn(x, (h0, torch.zeros_like(h0)))
            return out, h_n, c_n
        out, h_n = self.rnn(x, h0)
        return out, h_n


class LearnedInitialState(nn.Module):
    """A trained (non-zero) initial state of shape [layers*dirs, 1, hidden], expanded to the batch.

    The exporter emits Expand in front of the recurrent node's initial_h/initial_c,
    with Equal/Where glue that resolves the -1 entries of expand(-1, batch, -1).
    """

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        shape = state_shape(rnn, 1)
        self.h0 = nn.Parameter(torch.randn(shape) * 0.5)
        self.c0 = nn.Parameter(torch.randn(shape) * 0.5) if isinstance(rnn, nn.LSTM) else None

    def forward(self, x):
        batch = x.size(0 if self.rnn.batch_first else 1)
        h0 = self.h0.expand(-1, batch, -1).contiguous()
        if self.c0 is not None:
            c0 = self.c0.expand(-1, batch, -1).contiguous()
            out, (h_n, c_n) = self.rnn(x, (h0, c0))
            return out, h_n, c_n
        out, h_n = self.rnn(x, h0)
        return out, h_n


class StateInputs(nn.Module):
    """Takes the initial state as graph inputs "h0" (and "c0" for LSTM).

    This is how a streaming caller carries state from one chunk to the next.
    """

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0, c0=None):
        if c0 is not None:
            out, (h_n, c_n) = self.rnn(x, (h0, c0))
            return out, h_n, c_n
        out, h_n = self.rnn(x, h0)
        return out, h_n


class LastStepHead(nn.Module):
    """batch_first RNN -> out[:, -1, :] -> Linear: a sequence classifier."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        directions = 2 if rnn.bidirectional else 1
        self.fc = nn.Linear(directions * rnn.hidden_size, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


class ConvGruHead(nn.Module):
    """Activity-recognition shape: Conv1d over time -> transpose -> GRU -> last step -> Linear."""

    def __init__(self, bn):
        super().__init__()
        self.conv = nn.Conv1d(6, 8, 3)
        self.bn = nn.BatchNorm1d(8) if bn else nn.Identity()
        self.gru = nn.GRU(8, HIDDEN_SIZE, batch_first=True)
        self.fc = nn.Linear(HIDDEN_SIZE, 3)
        with torch.no_grad():
            for name, p in self.gru.named_parameters():
                p.uniform_(-0.6, 0.6)
            if bn:
                self.bn.running_mean.normal_(0.0, 0.5)
                self.bn.running_var.uniform_(0.5, 2.0)
                self.bn.weight.uniform_(0.5, 1.5)
                self.bn.bias.normal_(0.0, 0.2)

    def forward(self, x):                       # [N, 6, T]
        x = torch.relu(self.bn(self.conv(x)))   # [N, 8, T-2]
        out, _ = self.gru(x.transpose(1, 2))    # [N, T-2, 8]
        return self.fc(out[:, -1, :])


class ConvLstmHead(nn.Module):
    """Conv1d -> permute to [T, N, C] -> LSTM (seq-first) -> h_n[-1] -> Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, INPUT_SIZE, 3, padding=1)
        self.lstm = make_rnn("lstm")
        self.fc = nn.Linear(HIDDEN_SIZE, 3)

    def forward(self, x):                       # [N, 6, T]
        x = torch.relu(self.conv(x)).permute(2, 0, 1)   # [T, N, 4]
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])


# ------------------------------------------------------------ model list --

def rnn_models():
    """(name, module factory, input kind, batch, steps, description, options).

    Input kind "seq" is [T, N, C] (PyTorch's default), "batch" is [N, T, C].
    Options: state_inputs (take h0/c0 as inputs), dynamic_batch, fold_constants
    (default True, the exporter's default).
    """
    models = []
    for cell in CELLS:
        kind = CELLS[cell][0].__name__
        if cell.startswith("rnn_"):
            kind += f" ({CELLS[cell][1]['nonlinearity']})"
        models += [
            (f"{cell}_uni", lambda c=cell: SequenceAndState(make_rnn(c)),
             "seq", 1, 7, f"{kind}, 1 layer, forward, seq-first [T,N,C], default zero state", {}),
            (f"{cell}_bidir", lambda c=cell: SequenceAndState(make_rnn(c, bidirectional=True)),
             "seq", 1, 6, f"{kind}, bidirectional, seq-first", {}),
            (f"{cell}_batch_first",
             lambda c=cell: SequenceAndState(make_rnn(c, batch_first=True)),
             "batch", 1, 9, f"{kind}, batch_first=True input [N,T,C]", {}),
            (f"{cell}_2layers", lambda c=cell: SequenceAndState(make_rnn(c, num_layers=2)),
             "seq", 1, 8, f"{kind}, num_layers=2 (two chained nodes), seq-first", {}),
            (f"{cell}_no_bias", lambda c=cell: SequenceAndState(make_rnn(c, bias=False)),
             "seq", 1, 5, f"{kind}, bias=False (no B input), seq-first", {}),
            (f"{cell}_zeros_const",
             lambda c=cell: ZeroStateInForward(make_rnn(c), fixed_batch=1),
             "seq", 1, 7, f"{kind}, explicit torch.zeros(1,1,8) state; the exporter turns the "
             "batch-1 constant into Constant -> Expand to the input batch (graph as *_uni)", {}),
            (f"{cell}_zeros_dynamic",
             lambda c=cell: ZeroStateInForward(make_rnn(c, batch_first=True)),
             "batch", 1, 10,
             f"{kind}, batch_first, torch.zeros initial state sized from x.size(0), "
             "dynamic batch", {"dynamic_batch": True}),
            (f"{cell}_state_inputs", lambda c=cell: StateInputs(make_rnn(c)),
             "seq", 1, 6,
             f"{kind}, initial state as graph input(s) h0"
             + (" and c0" if CELLS[cell][2] else ""),
             {"state_inputs": True}),
        ]
    models += [
        ("lstm_bidir_2layers",
         lambda: SequenceAndState(make_rnn("lstm", bidirectional=True, num_layers=2)),
         "seq", 1, 8, "LSTM, bidirectional, 2 layers (bidirectional Y reshaped between "
         "layers)", {}),
        ("gru_bidir_2layers_batch_first",
         lambda: SequenceAndState(make_rnn("gru", bidirectional=True, num_layers=2,
                                           batch_first=True)),
         "batch", 1, 8, "GRU, bidirectional, 2 layers, batch_first", {}),
        ("lstm_learned_state",
         lambda: LearnedInitialState(make_rnn("lstm", batch_first=True)),
         "batch", 1, 7, "LSTM, batch_first, non-zero learned h0/c0 expanded to the batch, "
         "dynamic batch", {"dynamic_batch": True}),
        ("gru_learned_state",
         lambda: LearnedInitialState(make_rnn("gru")),
         "seq", 1, 7, "GRU, seq-first, non-zero learned h0 expanded to the batch, dynamic batch",
         {"dynamic_batch": True}),
        # Without constant folding the exporter leaves its gate reordering
        # (PyTorch i,f,g,o / r,z,n -> ONNX i,o,f,c / z,r,h) as Slice/Concat/Unsqueeze
        # on the weight initializers, as in exports that pass do_constant_folding=False.
        ("lstm_unfolded_weights", lambda: SequenceAndState(make_rnn("lstm")),
         "seq", 1, 6, "LSTM exported with do_constant_folding=False: W/R/B computed in the "
         "graph by Slice/Concat/Unsqueeze", {"fold_constants": False}),
        ("gru_unfolded_weights",
         lambda: SequenceAndState(make_rnn("gru", batch_first=True)),
         "batch", 1, 6, "GRU batch_first exported with do_constant_folding=False: W/R/B "
         "computed in the graph by Slice/Concat/Unsqueeze", {"fold_constants": False}),
        # Batch 3
        ("lstm_bidir_batch3",
         lambda: SequenceAndState(make_rnn("lstm", bidirectional=True)),
         "seq", 3, 9, "LSTM, bidirectional, seq-first, batch 3; default state exported as "
         "Constant [2,3,8] -> Expand, so the graph only runs at batch 3", {}),
        ("gru_batch_first_batch3",
         lambda: SequenceAndState(make_rnn("gru", batch_first=True)),
         "batch", 3, 11, "GRU, batch_first, batch 3 (state Constant [1,3,8] -> Expand)", {}),
        ("rnn_tanh_state_inputs_batch3", lambda: StateInputs(make_rnn("rnn_tanh")),
         "seq", 3, 5, "RNN (tanh), h0 as graph input, batch 3", {"state_inputs": True}),
        # Classifier heads over the last time step
        ("lstm_last_step_linear", lambda: LastStepHead(make_rnn("lstm", batch_first=True)),
         "batch", 1, 12, "LSTM batch_first -> out[:, -1, :] -> Linear 8->3", {}),
        ("gru_bidir_last_step_linear",
         lambda: LastStepHead(make_rnn("gru", batch_first=True, bidirectional=True)),
         "batch", 1, 10, "bidirectional GRU batch_first -> out[:, -1, :] -> Linear 16->3", {}),
        ("conv_gru_linear", lambda: ConvGruHead(bn=False),
         "conv", 1, 12, "Conv1d 6->8 k3 -> ReLU -> transpose -> GRU batch_first -> "
         "out[:, -1] -> Linear 8->3, dynamic batch", {"dynamic_batch": True}),
        ("conv_bn_gru_linear", lambda: ConvGruHead(bn=True),
         "conv", 3, 12, "Conv1d -> BatchNorm1d (kept) -> ReLU -> transpose -> GRU -> "
         "out[:, -1] -> Linear, batch 3, dynamic batch", {"dynamic_batch": True}),
        ("conv_lstm_hn_linear", ConvLstmHead,
         "conv", 1, 10, "Conv1d 6->4 k3 pad 1 -> ReLU -> permute to [T,N,C] -> LSTM -> "
         "h_n[-1] -> Linear 8->3", {}),
    ]
    return models


def input_shape(kind, batch, steps):
    if kind == "seq":
        return [steps, batch, INPUT_SIZE]
    if kind == "batch":
        return [batch, steps, INPUT_SIZE]
    return [batch, 6, steps]                    # "conv": [N, C, T]


def output_names(module):
    if isinstance(module, (LastStepHead, ConvGruHead, ConvLstmHead)):
        return ["output"]
    names = ["output", "h_n"]
    if isinstance(module.rnn, nn.LSTM):
        names.append("c_n")
    return names


def export_model(name, factory, kind, batch, steps, opset, options, out_dir):
    seed = seed_for(name)
    torch.manual_seed(seed)
    module = factory()
    module.eval()
    rng = np.random.RandomState(seed)
    sample = rng.standard_normal(input_shape(kind, batch, steps)).astype(np.float32)
    inputs = {"input": sample}
    if options.get("state_inputs"):
        shape = state_shape(module.rnn, batch)
        inputs["h0"] = (0.5 * rng.standard_normal(shape)).astype(np.float32)
        if isinstance(module.rnn, nn.LSTM):
            inputs["c0"] = (0.5 * rng.standard_normal(shape)).astype(np.float32)
    outputs = output_names(module)

    dynamic_axes = None
    if options.get("dynamic_batch"):
        batch_axis = 1 if kind == "seq" else 0
        dynamic_axes = {"input": {batch_axis: "batch"}}
        for out_name in outputs:
            # PyTorch's out keeps the input layout ([T, N, ...] or [N, T, ...]),
            # classifier heads give [N, 3], h_n/c_n are [layers*dirs, N, hidden].
            if out_name == "output" and not isinstance(module, (ConvGruHead, ConvLstmHead)):
                dynamic_axes[out_name] = {batch_axis: "batch"}
            elif out_name == "output":
                dynamic_axes[out_name] = {0: "batch"}
            else:
                dynamic_axes[out_name] = {1: "batch"}

    path = out_dir / f"{name}_op{opset}.onnx"
    has_batchnorm = any(isinstance(m, nn.BatchNorm1d) for m in module.modules())
    # PRESERVE keeps BatchNormalization as a node instead of folding it into the Conv.
    training = torch.onnx.TrainingMode.PRESERVE if has_batchnorm else torch.onnx.TrainingMode.EVAL
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    with warnings.catch_warnings():
        # The exporter warns about GRU/LSTM exported with batch > 1 and no state
        # inputs; the test inputs use exactly the exported batch size.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(
            module, args, str(path),
            opset_version=opset,
            input_names=list(inputs),
            output_names=outputs,
            dynamic_axes=dynamic_axes,
            training=training,
            do_constant_folding=options.get("fold_constants", True),
        )
    with torch.no_grad():
        results = module(*args)
    if isinstance(results, torch.Tensor):
        results = (results,)
    references = {out_name: r.numpy() for out_name, r in zip(outputs, results)}
    return path, inputs, references


# ------------------------------------------------------------------ main --

def describe_shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return "[" + ",".join(d.dim_param or str(d.dim_value) for d in dims) + "]"


def check_and_describe(path, inputs, references, description, out_dir):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    for input_name, value in inputs.items():
        np.save(out_dir / f"{path.stem}.{input_name}.npy", value)
    for output_name, value in references.items():
        np.save(out_dir / f"{path.stem}.{output_name}.npy", value.astype(np.float32))
    ops = sorted({node.op_type for node in model.graph.node})
    ins = " ".join(f"{v.name}{describe_shape(v)}" for v in model.graph.input)
    outs = " ".join(f"{v.name}{describe_shape(v)}" for v in model.graph.output)
    return f"{path.name} | in {ins} out {outs} | {' '.join(ops)} | {description}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    lines = []
    for name, factory, kind, batch, steps, description, options in rnn_models():
        for opset in OPSETS:
            path, inputs, references = export_model(
                name, factory, kind, batch, steps, opset, options, out_dir)
            lines.append(check_and_describe(path, inputs, references, description, out_dir))

    header = [
        "# Recurrent ONNX test models, generated by tools/training/make_rnn_test_models.py.",
        "# Random weights with fixed seeds, input size 4, hidden size 8 unless noted.",
        "# Each model X.onnx has float32 inputs X.<input name>.npy (input, and h0/c0 where",
        "# they are graph inputs) and PyTorch reference outputs X.<output name>.npy.",
        "# A dimension named \"batch\" is dynamic. Outputs \"output\" (the PyTorch out tensor),",
        "# \"h_n\" and \"c_n\" (final states, [layers*directions, N, hidden]).",
        "# Columns: file | inputs and outputs with shapes | ONNX ops in the graph | description",
    ]
    (out_dir / "manifest.txt").write_text("\n".join(header + lines) + "\n")
    for line in lines:
        print(line)
    total = sum(p.stat().st_size for p in out_dir.iterdir())
    print(f"{len(lines)} models, {total / 1024:.0f} KB in {out_dir}")


if __name__ == "__main__":
    main()
