"""Fault injection for tests: a lake filesystem and a Batch client that fail on demand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.fs as pafs


class FailingHandler(pafs.FileSystemHandler):
    """Delegates to a real pyarrow filesystem; an operation for which ``fail(op, path)`` is
    true raises OSError first, as S3 does with a 503 SlowDown."""

    def __init__(self, real: pafs.FileSystem, fail: Callable[[str, str], bool]) -> None:
        self.real, self.fail = real, fail

    def _check(self, op: str, path: str) -> None:
        if self.fail(op, path):
            raise OSError(f"AWS Error SLOW_DOWN during {op} of {path}: Please reduce your "
                          "request rate. (injected, HTTP 503)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FailingHandler) and other.real == self.real

    def __ne__(self, other: object) -> bool:
        return not self == other

    def get_type_name(self) -> str:
        return f"failing+{self.real.type_name}"

    def normalize_path(self, path: str) -> str:
        return self.real.normalize_path(path)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        for p in paths:
            self._check("info", p)
        return self.real.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        self._check("list", selector.base_dir)
        return self.real.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self._check("create_dir", path)
        self.real.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self.real.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self.real.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("refused")

    def delete_file(self, path: str) -> None:
        self._check("delete", path)
        self.real.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._check("move", dest)
        self.real.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self._check("copy", dest)
        self.real.copy_file(src, dest)

    def open_input_stream(self, path: str) -> Any:
        self._check("read", path)
        return self.real.open_input_stream(path)

    def open_input_file(self, path: str) -> Any:
        self._check("read", path)
        return self.real.open_input_file(path)

    def open_output_stream(self, path: str, metadata: Any = None) -> Any:
        self._check("write", path)
        return self.real.open_output_stream(path, metadata=metadata)

    def open_append_stream(self, path: str, metadata: Any = None) -> Any:
        self._check("write", path)
        return self.real.open_append_stream(path, metadata=metadata)


def failing_lake(monkeypatch, fail: Callable[[str, str], bool]) -> None:
    """Every LakeStore made from now on goes through a FailingHandler."""
    import lake.store

    real = lake.store.filesystem

    def filesystem(settings):
        fs, root = real(settings)
        return pafs.PyFileSystem(FailingHandler(fs, fail)), root

    monkeypatch.setattr(lake.store, "filesystem", filesystem)


class FailingBatch:
    """A Batch client whose SubmitJob answers ``code``/``status`` while ``failing`` is set;
    every other call goes to the real client."""

    def __init__(self, real: Any, code: str, status: int) -> None:
        self.real, self.code, self.status = real, code, status
        self.failing = True
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def submit_job(self, **request: Any) -> Any:
        if not self.failing:
            return self.real.submit_job(**request)
        from botocore.exceptions import ClientError

        self.refused += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "injected"},
                           "ResponseMetadata": {"HTTPStatusCode": self.status}}, "SubmitJob")
