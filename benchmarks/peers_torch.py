"""The PyTorch peers of the benchmark: eager autograd written as a person would (input
projections for all steps at once, the gates stacked into one product per step), and
torch's fused modules (nn.LSTM, nn.GRU, nn.RNN, nn.MultiheadAttention,
nn.TransformerEncoderLayer) where the model matches. Each ``make_*`` returns a function
that runs forward and backward once, or None where the peer has no such model."""
import torch
import torch.nn.functional as F


def _tensors(arrays, dtype, grad):
    return {k: torch.tensor(v, dtype=dtype, requires_grad=grad) for k, v in arrays.items()}


def _zero(*tensors):
    for t in tensors:
        t.grad = None


def make_eager(case, dtype):
    build = {"lstm": _lstm, "gru": _gru, "rnn": _rnn, "mha": _mha, "transformer": _transformer}
    return build[case.model](case, dtype)


def _lstm(case, dtype):
    if case.options.get("variant", "vanilla") not in ("vanilla", "NP"):
        return None
    P, X = _tensors(case.params, dtype, True), _tensors(case.inputs, dtype, True)
    cot = torch.tensor(case.cot["y"], dtype=dtype)
    peep = "p_i" in P

    def run():
        _zero(*P.values(), *X.values())
        W = torch.cat([P[f"W_{q}"] for q in "zifo"])
        R = torch.cat([P[f"R_{q}"] for q in "zifo"])
        b = torch.cat([P[f"b_{q}"] for q in "zifo"])
        xin = X["x"] @ W.T + b
        y, c, ys = X["y0"], X["c0"], []
        for t in range(xin.shape[0]):
            z, i, f, o = (xin[t] + y @ R.T).chunk(4, dim=-1)
            if peep:
                i, f = i + P["p_i"] * c, f + P["p_f"] * c
            c = torch.tanh(z) * torch.sigmoid(i) + c * torch.sigmoid(f)
            if peep:
                o = o + P["p_o"] * c
            y = torch.tanh(c) * torch.sigmoid(o)
            ys.append(y)
        (torch.stack(ys) * cot).sum().backward()
    return run


def _gru(case, dtype):
    if case.options.get("variant") != "cudnn":
        return None
    P, X = _tensors(case.params, dtype, True), _tensors(case.inputs, dtype, True)
    cot = torch.tensor(case.cot["h"], dtype=dtype)

    def run():
        _zero(*P.values(), *X.values())
        Wi = torch.cat([P[f"W_i{g}"] for g in "rzn"])
        Wh = torch.cat([P[f"W_h{g}"] for g in "rzn"])
        bi = torch.cat([P[f"b_i{g}"] for g in "rzn"])
        bh = torch.cat([P[f"b_h{g}"] for g in "rzn"])
        xin = X["x"] @ Wi.T + bi
        h, hs = X["h0"], []
        for t in range(xin.shape[0]):
            xr, xz, xn = xin[t].chunk(3, dim=-1)
            hr, hz, hn = (h @ Wh.T + bh).chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            hs.append(h)
        (torch.stack(hs) * cot).sum().backward()
    return run


def _rnn(case, dtype):
    P, X = _tensors(case.params, dtype, True), _tensors(case.inputs, dtype, False)
    X["x"].requires_grad_(True)
    X["h0"].requires_grad_(True)

    def run():
        _zero(*P.values(), X["x"], X["h0"])
        xin = X["x"] @ P["U"].T + P["b"]
        h, hs = X["h0"], []
        for t in range(xin.shape[0]):
            h = torch.tanh(xin[t] + h @ P["W"].T)
            hs.append(h)
        o = torch.stack(hs) @ P["V"].T + P["c"]
        (-(X["y"] * F.log_softmax(o, dim=-1)).sum()).backward()
    return run


def _attention(X, P, d_k):
    """Σᵢ softmax(X W_i^Q (X W_i^K)ᵀ/√d_k) X W_i^V W_i^O for X (T, B, d): heads batched."""
    Xb = X.transpose(0, 1)
    Q, K, V = (torch.einsum("btd,hdk->bhtk", Xb, P[f"W_{q}"]) for q in "QKV")
    A = torch.softmax(Q @ K.transpose(-1, -2) / d_k ** 0.5, dim=-1) @ V
    return torch.einsum("bhtv,hvd->btd", A, P["W_O"]).transpose(0, 1)


def _mha(case, dtype):
    P, X = _tensors(case.params, dtype, True), _tensors(case.inputs, dtype, True)
    cot = torch.tensor(case.cot["Y"], dtype=dtype)
    d_k = case.sizes["d_k"]

    def run():
        _zero(*P.values(), *X.values())
        (_attention(X["X"], P, d_k) * cot).sum().backward()
    return run


def _transformer(case, dtype):
    P, X = _tensors(case.params, dtype, True), _tensors(case.inputs, dtype, True)
    cot = torch.tensor(case.cot["Y"], dtype=dtype)
    d_k, d = case.sizes["d_k"], case.sizes["d_model"]

    def ln(Z, k):
        return F.layer_norm(Z, (d,), P[f"gamma_{k}"].reshape(-1), P[f"beta_{k}"].reshape(-1), 1e-5)

    def run():
        _zero(*P.values(), *X.values())
        H = ln(X["X"] + _attention(X["X"], P, d_k), 1)
        Fh = torch.relu(H @ P["W_1"] + P["b_1"].reshape(-1)) @ P["W_2"] + P["b_2"].reshape(-1)
        (ln(H + Fh, 2) * cot).sum().backward()
    return run


def make_module(case, dtype):
    """torch's fused module of the same size and form, or None."""
    s, model = case.sizes, case.model
    variant = case.options.get("variant")
    if model == "lstm" and variant == "NP":
        net, key = torch.nn.LSTM(s["m"], s["n"]), "y"
    elif model == "gru" and variant == "cudnn":
        net, key = torch.nn.GRU(s["m"], s["n"]), "h"
    elif model == "rnn":
        net, key = torch.nn.RNN(s["m"], s["n"]), None
    elif model == "mha":
        net, key = torch.nn.MultiheadAttention(s["d_model"], s["h"], bias=False), "Y"
    elif model == "transformer":
        net, key = torch.nn.TransformerEncoderLayer(s["d_model"], s["h"], s["d_ff"], dropout=0.0), "Y"
    else:
        return None
    net = net.to(dtype)
    X = _tensors({k: v for k, v in case.inputs.items() if k in ("x", "X")}, dtype, True)
    cot = torch.tensor(case.cot[key], dtype=dtype) if key else None
    head = torch.nn.Linear(s["n"], s["k"]).to(dtype) if model == "rnn" else None
    y = torch.tensor(case.inputs["y"], dtype=dtype) if model == "rnn" else None
    state = {k: torch.tensor(v, dtype=dtype)[None] for k, v in case.inputs.items() if k.endswith("0")}

    def run():
        net.zero_grad(set_to_none=True)
        _zero(*X.values())
        if model == "lstm":
            out, _ = net(X["x"], (state["y0"], state["c0"]))
        elif model in ("gru", "rnn"):
            out, _ = net(X["x"], state["h0"])
        elif model == "mha":
            out, _ = net(X["X"], X["X"], X["X"], need_weights=False)
        else:
            out = net(X["X"])
        loss = -(y * F.log_softmax(head(out), dim=-1)).sum() if head is not None else (out * cot).sum()
        loss.backward()
    return run


def name_of_module(case):
    return {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN", "mha": "nn.MHA",
            "transformer": "TEL"}.get(case.model, "")
