"""Graph neural networks: a GCN layer and message passing from scratch, checked against
PyTorch Geometric's ``GCNConv``, semi-supervised learning on Zachary's karate club, and the
1-WL limit of message passing.

Run ``python -m snippets.architectures.graph_networks --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch on one CPU thread, then restore: on a 34-node graph, threads only wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def edges_to_index(pairs: list[tuple[int, int]]) -> torch.Tensor:
    """An undirected edge list as PyG's edge_index: shape (2, 2 * len(pairs)), both directions."""
    one_way = torch.tensor(pairs).T
    return torch.cat([one_way, one_way.flip(0)], dim=1)


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch-gcn]
def dense_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """A[i, j] = 1 when an edge j -> i exists (row 0 of edge_index: sources, row 1: targets)."""
    adjacency = torch.zeros(num_nodes, num_nodes)
    adjacency[edge_index[1], edge_index[0]] = 1.0
    return adjacency


def normalized_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    """Kipf & Welling's renormalisation: A_hat = D~^(-1/2) (A + I) D~^(-1/2)."""
    a_tilde = adjacency + torch.eye(adjacency.shape[0])  # every node also hears itself
    d_inv_sqrt = a_tilde.sum(dim=1).rsqrt()  # D~: degrees counting the self-loop
    return d_inv_sqrt[:, None] * a_tilde * d_inv_sqrt[None, :]


class GCNLayer(nn.Module):
    """One graph convolution, H' = A_hat H W + b; the nonlinearity comes outside."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor, a_hat: torch.Tensor) -> torch.Tensor:
        return a_hat @ (x @ self.weight) + self.bias


# --8<-- [end:scratch-gcn]


# --8<-- [start:message-passing]
def message_passing(
    h: torch.Tensor,
    edge_index: torch.Tensor,
    message: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    aggregate: str = "sum",
) -> torch.Tensor:
    """Gather a message along every edge j -> i, then aggregate the messages at each target i.

    ``message(h_i, h_j)`` gets one row per edge; ``aggregate`` is "sum", "mean" or "amax".
    A node that receives no message gets zeros. The update step is left to the caller.
    """
    source, target = edge_index
    messages = message(h[target], h[source])  # gather: one row per edge
    index = target[:, None].expand_as(messages)
    empty = torch.zeros(h.shape[0], messages.shape[1], dtype=messages.dtype)
    return empty.scatter_reduce(0, index, messages, reduce=aggregate, include_self=False)


def gcn_by_message_passing(layer: GCNLayer, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """The same GCN layer, written edge by edge: message d_i^(-1/2) d_j^(-1/2) x_j W, summed."""
    loops = torch.arange(x.shape[0]).repeat(2, 1)
    edge_index = torch.cat([edge_index, loops], dim=1)  # the "+ I" of A + I
    degree = torch.bincount(edge_index[1], minlength=x.shape[0]).float()
    source, target = edge_index
    norm = (degree[source] * degree[target]).rsqrt()[:, None]  # one number per edge
    h = x @ layer.weight
    aggregated = message_passing(h, edge_index, lambda h_i, h_j: norm * h_j, aggregate="sum")
    return aggregated + layer.bias  # update


# --8<-- [end:message-passing]


# --8<-- [start:library]
from torch_geometric.data import Data  # noqa: E402
from torch_geometric.datasets import KarateClub  # noqa: E402
from torch_geometric.nn import GCNConv  # noqa: E402


def as_gcnconv(layer: GCNLayer) -> GCNConv:
    """A PyG GCNConv holding our layer's weights (PyG stores W transposed, as nn.Linear does)."""
    conv = GCNConv(*layer.weight.shape)
    with torch.no_grad():
        conv.lin.weight.copy_(layer.weight.T)
        conv.bias.copy_(layer.bias)
    return conv


class GCN(nn.Module):
    """Two graph convolutions with a ReLU between them (Kipf & Welling's model)."""

    def __init__(self, in_features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_features, hidden)
        self.conv2 = GCNConv(hidden, classes)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(x, edge_index)), edge_index)


class MLP(nn.Module):
    """The same sizes with nn.Linear: it sees each node's features and ignores the edges."""

    def __init__(self, in_features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(in_features, hidden)
        self.lin2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.lin2(F.relu(self.lin1(x)))


def train_and_score(model: nn.Module, data: Data, epochs: int = 200) -> float:
    """Fit the labelled nodes (data.train_mask) with Adam; return accuracy on all the others."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    with one_thread():
        for _ in range(epochs):
            optimizer.zero_grad()
            logits = model(data.x, data.edge_index)
            F.cross_entropy(logits[data.train_mask], data.y[data.train_mask]).backward()
            optimizer.step()
        with torch.no_grad():
            predicted = model(data.x, data.edge_index).argmax(dim=1)
    unlabelled = ~data.train_mask
    return (predicted[unlabelled] == data.y[unlabelled]).float().mean().item()


# --8<-- [end:library]


# --8<-- [start:equivariance]
def permute_graph(
    x: torch.Tensor, edge_index: torch.Tensor, order: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Renumber the nodes: new node k is old node order[k]. Returns the features and edges."""
    new_id = torch.empty_like(order)
    new_id[order] = torch.arange(len(order))
    return x[order], new_id[edge_index]


# --8<-- [end:equivariance]


# --8<-- [start:wl]
TWO_TRIANGLES = edges_to_index([(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)])
HEXAGON = edges_to_index([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)])


@torch.no_grad()
def embed(edge_index: torch.Tensor, x: torch.Tensor, layers: list[GCNLayer]) -> torch.Tensor:
    """Node embeddings from a stack of our GCN layers with ReLU between them (no training)."""
    a_hat = normalized_adjacency(dense_adjacency(edge_index, x.shape[0]))
    for k, layer in enumerate(layers):
        x = layer(x, a_hat)
        x = F.relu(x) if k < len(layers) - 1 else x
    return x


# --8<-- [end:wl]


# --8<-- [start:solution-sage]
from torch_geometric.nn import SAGEConv  # noqa: E402


class SAGELayer(nn.Module):
    """GraphSAGE with the mean aggregator: h_i' = W_self h_i + W_neigh mean_j h_j + b."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.self_weight = nn.Linear(in_features, out_features, bias=False)
        self.neighbour_weight = nn.Linear(in_features, out_features)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        neighbours = message_passing(h, edge_index, lambda h_i, h_j: h_j, aggregate="mean")
        return self.self_weight(h) + self.neighbour_weight(neighbours)


def as_sageconv(layer: SAGELayer) -> SAGEConv:
    """PyG's SAGEConv: lin_l acts on the neighbour mean (with bias), lin_r on the node itself."""
    conv = SAGEConv(layer.self_weight.in_features, layer.self_weight.out_features, aggr="mean")
    with torch.no_grad():
        conv.lin_l.weight.copy_(layer.neighbour_weight.weight)
        conv.lin_l.bias.copy_(layer.neighbour_weight.bias)
        conv.lin_r.weight.copy_(layer.self_weight.weight)
    return conv


# --8<-- [end:solution-sage]


# --8<-- [start:solution-triangles]
def triangle_counts(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """How many triangles each node sits in: the diagonal of A^3 counts each one twice."""
    adjacency = dense_adjacency(edge_index, num_nodes)
    return torch.diagonal(adjacency @ adjacency @ adjacency) / 2


# --8<-- [end:solution-triangles]


def karate() -> Data:
    """PyG's copy of Zachary's karate club (ships inside the package: nothing downloads)."""
    return KarateClub()[0]


def compare_models(seed: int, epochs: int = 200, hidden: int = 16) -> dict[str, float]:
    """Accuracy on the unlabelled karate-club nodes of a GCN and an MLP, same seed and sizes."""
    data = karate()
    scores = {}
    for name, model_class in (("GCN", GCN), ("MLP", MLP)):
        torch.manual_seed(seed)
        model = model_class(data.num_features, hidden, int(data.y.max()) + 1)
        scores[name] = train_and_score(model, data, epochs)
    return scores


def gcn_predictions(seed: int, epochs: int = 200, hidden: int = 16) -> torch.Tensor:
    """The trained GCN's class for every karate-club node (for the figure)."""
    data = karate()
    torch.manual_seed(seed)
    model = GCN(data.num_features, hidden, int(data.y.max()) + 1)
    train_and_score(model, data, epochs)
    with torch.no_grad():
        return model(data.x, data.edge_index).argmax(dim=1)


def largest_gap(embeddings: torch.Tensor) -> float:
    """The largest difference between any embedding row and the first one."""
    return (embeddings - embeddings[0]).abs().max().item()


def plot_karate():
    """Left: the four communities and the four labelled nodes. Right: what the GCN predicts."""
    import matplotlib.pyplot as plt
    import networkx as nx

    data = karate()
    graph = nx.Graph(data.edge_index.T.tolist())
    positions = nx.spring_layout(graph, seed=3)
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]
    predicted = gcn_predictions(0)
    labelled = data.train_mask.nonzero().flatten().tolist()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax, classes, title in (
        (axes[0], data.y, "communities; circled: the 4 labelled members"),
        (axes[1], predicted, "GCN prediction; crossed: wrong"),
    ):
        nodes = sorted(graph.nodes)
        nx.draw_networkx_edges(graph, positions, ax=ax, edge_color="#bbbbbb", width=0.8)
        nx.draw_networkx_nodes(
            graph, positions, nodelist=nodes, ax=ax, node_size=160,
            node_color=[palette[int(classes[n])] for n in nodes],
        )  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    nx.draw_networkx_nodes(
        graph, positions, nodelist=labelled, ax=axes[0], node_size=420,
        node_color="none", edgecolors="black", linewidths=1.8,
    )  # fmt: skip
    wrong = [n for n in sorted(graph.nodes) if int(predicted[n]) != int(data.y[n])]
    for n in wrong:
        axes[1].plot(*positions[n], "kx", ms=9, mew=2)
    fig.tight_layout()
    return fig


def plot_wl():
    """Two triangles next to a hexagon: every node has two neighbours in both graphs."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    angles = np.pi / 2 + 2 * np.pi * np.arange(6) / 6
    hexagon = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    tri_angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    triangle = 0.8 * np.stack([np.cos(tri_angles), np.sin(tri_angles)], axis=1)
    triangles = np.vstack([triangle - [1.1, 0], triangle + [1.1, 0]])
    for ax, edge_index, points, title in (
        (axes[0], TWO_TRIANGLES, triangles, "two triangles"),
        (axes[1], HEXAGON, hexagon, "one 6-cycle"),
    ):
        for source, target in edge_index.T.tolist():
            ax.plot(*points[[source, target]].T, color="#888888", lw=1.5, zorder=1)
        ax.scatter(*points.T, s=260, color="#7570b3", zorder=2)
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal")
        ax.set(xlim=(-2.1, 2.1), ylim=(-1.25, 1.25))
        ax.set_axis_off()
    fig.tight_layout()
    return fig


FIGURES = {"graph-karate": plot_karate, "graph-wl": plot_wl}


def report(args: argparse.Namespace) -> None:
    """Check the layer against GCNConv, test equivariance, train GCN and MLP, show the 1-WL limit."""
    with one_thread():
        data = karate()
        labelled = data.train_mask.nonzero().flatten().tolist()
        print(
            f"KarateClub: {data.num_nodes} members, {data.num_edges} directed edges "
            f"({data.num_edges // 2} friendships), {data.num_features} one-hot features, "
            f"{int(data.y.max()) + 1} classes, labelled members {labelled}"
        )
        torch.manual_seed(args.seed)
        layer = GCNLayer(data.num_features, 4)
        ours = layer(data.x, normalized_adjacency(dense_adjacency(data.edge_index, data.num_nodes)))
        theirs = as_gcnconv(layer)(data.x, data.edge_index)
        edgewise = gcn_by_message_passing(layer, data.x, data.edge_index)
        same = torch.allclose(ours, theirs, atol=1e-6)
        print(f"our GCN layer equals GCNConv with the same weights (1e-6): {same}")
        print(
            f"the message-passing version equals both (1e-6): {torch.allclose(edgewise, theirs, atol=1e-6)}"
        )
        order = torch.randperm(data.num_nodes)
        x_perm, edges_perm = permute_graph(data.x, data.edge_index, order)
        moved = torch.allclose(as_gcnconv(layer)(x_perm, edges_perm), theirs[order], atol=1e-6)
        print(f"renumbering the nodes renumbers the output rows (1e-6): {moved}")

        settings = f"{args.epochs} epochs, hidden {args.hidden}, seed {args.seed}"
        print(f"{len(labelled)} labelled members, {settings}:")
        scores = compare_models(args.seed, args.epochs, args.hidden)
        unlabelled = data.num_nodes - len(labelled)
        for name, accuracy in scores.items():
            correct = round(accuracy * unlabelled)
            print(f"  {name}: {correct}/{unlabelled} unlabelled members right ({accuracy:.0%})")

        print("two triangles vs one 6-cycle, every feature 1, random weights, 3 GCN layers:")
        layers = [GCNLayer(1, 8), GCNLayer(8, 8), GCNLayer(8, 8)]
        ones = torch.ones(6, 1)
        both = torch.cat([embed(TWO_TRIANGLES, ones, layers), embed(HEXAGON, ones, layers)])
        print(f"  all 12 node embeddings identical (1e-6): {largest_gap(both) < 1e-6}")
        path = edges_to_index([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
        differs = largest_gap(embed(path, ones, layers)) > 1e-3
        print(f"  a 6-node path gets different embeddings at its ends: {differs}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.graph_networks",
        "A GCN layer from scratch vs PyG's GCNConv, GCN vs MLP on the karate club, the 1-WL limit.",
    )
    parser.add_argument("--epochs", type=positive_int, default=200, help="training epochs (default: 200)")
    parser.add_argument("--hidden", type=positive_int, default=16, help="hidden features (default: 16)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
