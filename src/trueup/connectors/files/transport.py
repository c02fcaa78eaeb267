"""Where a file ERP's batch files live: a local folder or an SFTP server, behind one small async interface.

Paths are relative to the transport's root and use `/`. `write_atomic` writes a hidden temporary name and
renames it into place, so the other side never sees a half-written file; `list` never shows hidden names
(temporary files, trueup's own `.trueup-seen` ledger). Failures map onto trueup's error bands: a network
failure is `Unavailable` (retriable), refused credentials or host key are `Fatal`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Protocol

import asyncssh

from trueup.errors import Fatal, Unavailable

__all__ = ["LocalTransport", "SftpTransport", "Transport"]


class Transport(Protocol):
    """The four things the files connector does to the ERP's folders."""

    description: str

    async def list(self, folder: str) -> list[str]:
        """Names of the visible files in `folder` (no sub-folders, no hidden names), sorted."""
        ...

    async def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        ...

    async def exists(self, path: str) -> bool: ...

    async def write_atomic(self, path: str, data: bytes) -> None: ...

    async def move(self, src: str, dst: str) -> None:
        """Rename, replacing `dst` if it exists."""
        ...

    async def aclose(self) -> None: ...


def _temp_name(path: str) -> str:
    folder, _, name = path.rpartition("/")
    temp = f".{name}.{uuid.uuid4().hex[:12]}.tmp"
    return f"{folder}/{temp}" if folder else temp


class LocalTransport:
    """A folder on this machine (or a mounted share). Blocking calls run in a worker thread."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.description = f"folder {self.root}"

    def _path(self, path: str) -> Path:
        return self.root / path

    def _list(self, folder: str) -> list[str]:
        try:
            with os.scandir(self._path(folder)) as entries:
                return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file())
        except FileNotFoundError:
            return []

    async def list(self, folder: str) -> list[str]:
        return await asyncio.to_thread(self._list, folder)

    def _read(self, path: str) -> bytes | None:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            return None

    async def read(self, path: str) -> bytes | None:
        return await asyncio.to_thread(self._read, path)

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._path(path).is_file)

    def _write(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self._path(_temp_name(path))
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)

    async def write_atomic(self, path: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, path, data)

    def _move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)

    async def move(self, src: str, dst: str) -> None:
        await asyncio.to_thread(self._move, src, dst)

    async def aclose(self) -> None:
        return None


class SftpTransport:
    """An SFTP server, over one asyncssh connection opened on first use and reopened after a failure.

    `known_hosts` is a path to a known_hosts file; None turns host-key checking off, which is only for the
    sandbox. Authentication is a password, or a private key file (`client_key`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        *,
        root: str = "",
        password: str | None = None,
        client_key: str | None = None,
        known_hosts: str | None = "~/.ssh/known_hosts",
        timeout: float = 30,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.root = root.rstrip("/")
        self.password = password
        self.client_key = client_key
        # Expanded here, not in the event loop: expanduser may read the password database.
        self.known_hosts = os.path.expanduser(known_hosts) if known_hosts else None
        self.timeout = timeout
        self.description = f"sftp://{username}@{host}:{port}/{self.root.lstrip('/')}"
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()

    def _path(self, path: str) -> str:
        return f"{self.root}/{path}" if self.root else path

    async def _client(self) -> asyncssh.SFTPClient:
        async with self._lock:
            if self._sftp is not None:
                return self._sftp
            known = self.known_hosts
            try:
                conn = await asyncio.wait_for(
                    asyncssh.connect(
                        self.host,
                        self.port,
                        username=self.username,
                        password=self.password,
                        client_keys=[self.client_key] if self.client_key else None,
                        known_hosts=known,
                        agent_path=None,
                    ),
                    self.timeout,
                )
            except asyncssh.PermissionDenied as exc:
                raise Fatal(f"{self.description} refused the credentials: {exc.reason}") from None
            except asyncssh.HostKeyNotVerifiable as exc:
                raise Fatal(
                    f"{self.description}: the server's host key is not in {known}: {exc.reason}. "
                    "Resolution: add the key the ERP's administrator confirms to that known_hosts file."
                ) from None
            except (OSError, asyncssh.Error, TimeoutError) as exc:
                raise Unavailable(f"{self.description} is unreachable: {exc}") from None
            self._conn = conn
            self._sftp = await conn.start_sftp_client()
            return self._sftp

    async def _drop(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()

    async def _failed(self, action: str, exc: BaseException) -> Unavailable:
        await self._drop()
        return Unavailable(f"{self.description}: {action} failed: {exc}")

    async def list(self, folder: str) -> list[str]:
        sftp = await self._client()
        try:
            names = await sftp.readdir(self._path(folder))
        except asyncssh.SFTPNoSuchFile:
            return []
        except (OSError, asyncssh.Error) as exc:
            raise await self._failed(f"listing {folder}", exc) from None
        return sorted(
            str(n.filename)
            for n in names
            if not str(n.filename).startswith(".") and n.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
        )

    async def read(self, path: str) -> bytes | None:
        sftp = await self._client()
        try:
            async with sftp.open(self._path(path), "rb") as handle:
                data: bytes = await handle.read()
                return data
        except asyncssh.SFTPNoSuchFile:
            return None
        except (OSError, asyncssh.Error) as exc:
            raise await self._failed(f"reading {path}", exc) from None

    async def exists(self, path: str) -> bool:
        sftp = await self._client()
        try:
            return bool(await sftp.isfile(self._path(path)))
        except (OSError, asyncssh.Error) as exc:
            raise await self._failed(f"looking for {path}", exc) from None

    async def _makedirs(self, sftp: asyncssh.SFTPClient, path: str) -> None:
        folder = path.rpartition("/")[0]
        if folder:
            await sftp.makedirs(self._path(folder), exist_ok=True)

    async def write_atomic(self, path: str, data: bytes) -> None:
        sftp = await self._client()
        temp = _temp_name(path)
        try:
            await self._makedirs(sftp, path)
            async with sftp.open(self._path(temp), "wb") as handle:
                await handle.write(data)
            await sftp.posix_rename(self._path(temp), self._path(path))
        except (OSError, asyncssh.Error) as exc:
            raise await self._failed(f"writing {path}", exc) from None

    async def move(self, src: str, dst: str) -> None:
        sftp = await self._client()
        try:
            await self._makedirs(sftp, dst)
            await sftp.posix_rename(self._path(src), self._path(dst))
        except (OSError, asyncssh.Error) as exc:
            raise await self._failed(f"moving {src} to {dst}", exc) from None

    async def aclose(self) -> None:
        await self._drop()
