"""`make serve PORT=...` says in one line when the port cannot be used, before building."""

from __future__ import annotations

import socket

from tools.local_server import main, port_problem


def test_a_busy_port_is_named_with_another_to_try(capsys) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert main(["check-port", str(port)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"make serve: port {port} is in use on 127.0.0.1")
    assert f"make serve PORT={port + 1}" in message and "\n" not in message


def test_a_port_that_is_not_a_number_is_refused() -> None:
    assert "must be a number" in port_problem("80a")
    assert "must be a number" in port_problem("70000")


def test_a_free_port_passes() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port_problem(str(port)) is None
