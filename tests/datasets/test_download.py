"""The download path, offline: a local HTTP server on 127.0.0.1 plays each official source.

Each corpus's official files are imitated by a small archive in the same format; the
real URLs and checksums are swapped for the local ones, so fetching, verifying, the
atomic write and the conversion into ``<name>/<split>.csv.gz`` all run for real.
"""

import dataclasses
import gzip
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile

import pandas as pd
import pytest

from bilstm_attn.datasets import _corpora, load_dataset
from bilstm_attn.exceptions import ChecksumError, DatasetNotFoundError


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = {}, []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _tar(members: dict[str, str], encoding: str = "utf-8") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in members.items():
            data = text.encode(encoding)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# name -> (served files by filename, split to load, expected first rows of that split)
FAKES = {
    "imdb": (
        {
            "aclImdb_v1.tar.gz": _tar(
                {
                    "aclImdb/README": "not a review",
                    "aclImdb/train/pos/3_9.txt": "Loved it.<br />Truly.",
                    "aclImdb/train/neg/10_1.txt": 'Dull, "awful", long.',
                    "aclImdb/train/neg/2_3.txt": "Meh — not for me.",
                    "aclImdb/test/pos/0_10.txt": "Great!",
                    "aclImdb/train/unsup/0_0.txt": "unlabelled, skipped",
                }
            )
        },
        "train",
        pd.DataFrame(
            {
                "text": ["Meh — not for me.", 'Dull, "awful", long.', "Loved it.<br />Truly."],
                "label": [0, 0, 1],
            }
        ),
    ),
    "sst2": (
        {
            "SST-2.zip": _zip(
                {
                    "SST-2/train.tsv": "sentence\tlabel\nhide new secretions \t0\na gem \t1\n",
                    "SST-2/dev.tsv": "sentence\tlabel\nit 's charming . \t1\n",
                    "SST-2/test.tsv": "index\tsentence\n0\tno labels\n",
                }
            )
        },
        "dev",
        pd.DataFrame({"text": ["it 's charming ."], "label": [1]}),
    ),
    "nsmc": (
        {
            "ratings_train.txt": (
                'id\tdocument\tlabel\n9976970\t아 더빙.. 진짜\t0\n1\t""굳""\t1\n'.encode()
            ),
            "ratings_test.txt": "id\tdocument\tlabel\n6270596\t굳 ㅋ\t1\n2\t\t0\n".encode(),
        },
        "test",
        pd.DataFrame({"text": ["굳 ㅋ", ""], "label": [1, 0], "id": [6270596, 2]}),
    ),
    "trec": (
        {
            "train_5500.label": b"DESC:manner How did serfdom develop ?\nHUM:ind Who \xf0 is ?\n",
            "TREC_10.label": b"NUM:dist How far is it from Denver to Aspen ?\n",
        },
        "train",
        pd.DataFrame(
            {
                "text": ["How did serfdom develop ?", "Who   is ?"],
                "label": ["DESC", "HUM"],
                "label_fine": ["DESC:manner", "HUM:ind"],
            }
        ),
    ),
    "20newsgroups": (
        {
            "20news-bydate.tar.gz": _tar(
                {
                    "20news-bydate-test/sci.space/60001": "From: a\n\nOrbit \xe9.",
                    "20news-bydate-test/alt.atheism/53068": "From: b\r\n\r\nGod?",
                    "20news-bydate-test/alt.atheism/9": "From: c\n\nEarlier.",
                    "20news-bydate-train/sci.space/1": "From: d\n\nTrain.",
                },
                encoding="latin-1",
            )
        },
        "test",
        pd.DataFrame(
            {
                "text": ["From: c\n\nEarlier.", "From: b\r\n\r\nGod?", "From: a\n\nOrbit \xe9."],
                "label": ["alt.atheism", "alt.atheism", "sci.space"],
                "id": [9, 53068, 60001],
            }
        ),
    ),
    "ag_news": (
        {
            "train.csv": b'"3","Wall St.","Bears, claw back."\n"4","Space","Orbit \\ now"\n',
            "test.csv": b'"2","Cup final","Red ""wins"""\n',
        },
        "test",
        pd.DataFrame(
            {
                "text": ['Cup final Red "wins"'],
                "label": [2],
                "title": ["Cup final"],
                "description": ['Red "wins"'],
            }
        ),
    ),
    "multi30k": (
        {
            f"{split}.{lang}.gz": gzip.compress(f"{split} {lang} 1\n{split} {lang} ä\n".encode())
            for split in ("train", "val", "test_2016_flickr")
            for lang in ("de", "en")
        },
        "val",
        pd.DataFrame({"source": ["val de 1", "val de ä"], "target": ["val en 1", "val en ä"]}),
    ),
    "dlfs2_date": (
        {"date.txt": "".join(f"{m}/1/99{' ' * 23}_1999-0{m}-01\n" for m in range(1, 10)).encode()},
        "train",
        None,  # checked below: the book's split of 9 lines is 9 - 9 // 10 = 9 to train
    ),
}


def _serve(server, monkeypatch, name, files, corrupt=None):
    """Swap the corpus's official URLs and checksums for the local server's."""
    corpus = _corpora.CORPORA[name]
    host, port = server.server_address
    remotes = []
    for remote in corpus.remotes:
        body = files[remote.filename]
        algorithm = remote.checksum.split(":")[0]  # md5 stays md5 for AG News train
        digest = hashlib.new(algorithm, body).hexdigest()
        if remote.filename == corrupt:
            digest = hashlib.new(algorithm, body + b"x").hexdigest()
        path = f"/{name}/{remote.filename}"
        server.files[path] = body
        remotes.append(
            dataclasses.replace(
                remote, url=f"http://{host}:{port}{path}", checksum=f"{algorithm}:{digest}"
            )
        )
    patched = dataclasses.replace(corpus, remotes=tuple(remotes))
    monkeypatch.setitem(_corpora.CORPORA, name, patched)


def test_every_downloadable_corpus_has_a_fake():
    downloadable = {n for n, c in _corpora.CORPORA.items() if c.remotes}
    assert downloadable - set(FAKES) <= {"multi30k_fr", "dlfs2_addition"}
    for corpus in _corpora.CORPORA.values():
        for remote in corpus.remotes:
            algorithm, digest = remote.checksum.split(":")
            assert (algorithm, len(digest)) in {("sha256", 64), ("md5", 32)}, remote
            assert remote.url.startswith("https://"), remote


@pytest.mark.parametrize("name", sorted(FAKES))
def test_download_verify_convert(server, monkeypatch, tmp_path, name):
    files, split, expected = FAKES[name]
    _serve(server, monkeypatch, name, files)
    frame = load_dataset(name, split, data_home=tmp_path)
    if expected is not None:
        pd.testing.assert_frame_equal(frame, expected)
    else:
        assert len(frame) == 9 and frame["target"].str.fullmatch(r"1999-0\d-01").all()
        assert not frame["source"].str.contains(" ").any()
    assert len(server.requests) == len(files)
    folder = tmp_path / _corpora.CORPORA[name].directory
    assert not (folder / ".download").exists()  # archives removed after conversion
    assert not list(folder.rglob("*.part"))
    # Read in place the second time: nothing is fetched again.
    pd.testing.assert_frame_equal(load_dataset(name, split, data_home=tmp_path), frame)
    assert len(server.requests) == len(files)


def test_converted_layout_is_the_shared_layout(server, monkeypatch, tmp_path):
    files, _, _ = FAKES["imdb"]
    _serve(server, monkeypatch, "imdb", files)
    load_dataset("imdb", data_home=tmp_path)
    assert sorted(p.name for p in (tmp_path / "imdb").iterdir()) == ["test.csv.gz", "train.csv.gz"]
    assert pd.read_csv(tmp_path / "imdb" / "test.csv.gz").to_dict("list") == {
        "text": ["Great!"],
        "label": [1],
    }


def test_checksum_failure_leaves_nothing_behind(server, monkeypatch, tmp_path):
    files, _, _ = FAKES["nsmc"]
    _serve(server, monkeypatch, "nsmc", files, corrupt="ratings_test.txt")
    home = tmp_path / "cache"  # not there yet
    with pytest.raises(ChecksumError, match=r"ratings_test.txt downloaded from http://127.0.0.1"):
        load_dataset("nsmc", data_home=home)
    assert not home.exists()  # no file, and no folder either


def test_checksum_failure_names_both_digests(server, monkeypatch, tmp_path):
    files, _, _ = FAKES["sst2"]
    _serve(server, monkeypatch, "sst2", files, corrupt="SST-2.zip")
    actual = hashlib.sha256(files["SST-2.zip"]).hexdigest()
    with pytest.raises(ChecksumError, match=f"has sha256 {actual}, but the published sha256"):
        load_dataset("sst2", data_home=tmp_path)


def test_no_network_gives_a_clear_error(monkeypatch, tmp_path):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    corpus = _corpora.CORPORA["trec"]
    dead = tuple(
        dataclasses.replace(r, url=f"http://127.0.0.1:{port}/{r.filename}") for r in corpus.remotes
    )
    monkeypatch.setitem(_corpora.CORPORA, "trec", dataclasses.replace(corpus, remotes=dead))
    home = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("trec", "test", data_home=home)
    message = str(caught.value)
    assert f"is not in {home / 'trec'}: expected test.csv or test.csv.gz there" in message
    assert "Downloading it from its official source failed" in message
    assert not home.exists()  # the README: nothing is written
    (home / "trec").mkdir(parents=True)
    (home / "trec" / "notes.txt").write_text("mine")  # a folder that was there stays
    with pytest.raises(DatasetNotFoundError):
        load_dataset("trec", "test", data_home=home)
    assert [p.name for p in home.rglob("*")] == ["trec", "notes.txt"]


def test_http_error_gives_a_clear_error(server, monkeypatch, tmp_path):
    files, _, _ = FAKES["trec"]
    _serve(server, monkeypatch, "trec", files)
    server.files.clear()  # the server answers 404
    with pytest.raises(DatasetNotFoundError, match="failed: Not Found"):
        load_dataset("trec", data_home=tmp_path)


def test_download_if_missing_false_fetches_nothing(server, monkeypatch, tmp_path):
    files, _, _ = FAKES["trec"]
    _serve(server, monkeypatch, "trec", files)
    with pytest.raises(DatasetNotFoundError, match=r"Downloading is off"):
        load_dataset("trec", data_home=tmp_path, download_if_missing=False)
    assert server.requests == []
