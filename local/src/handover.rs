//! Upgrading the daemon without failing a request, as nginx's binary upgrade and Envoy's
//! hot restart do: a starting `serve --takeover` asks the running daemon, over a unix
//! socket in the state directory, for its listening sockets (admin API and front doors)
//! and its instance lock, passed as file descriptors (`SCM_RIGHTS`). The sockets never
//! close, so no client meets a refused connection: connections wait in the kernel's
//! queue until one of the two daemons accepts them. The old daemon then stops accepting,
//! finishes the requests in hand and exits; the colour processes keep running and the new
//! daemon adopts them.
//!
//! The exchange, one JSON line each way, the descriptors riding on the offer:
//! - new → old: `{"op":"handover","pid":N}`
//! - old → new: `{"admin":"127.0.0.1:7480","front_doors":["api",…]}` with descriptors
//!   [lock, admin, one per front door]
//! - new → old: `{"op":"ready"}` once it serves. If the connection closes first, the old
//!   daemon carries on as before.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use tokio::net::UnixListener;

/// Name of the control socket in the state directory.
pub const SOCKET_NAME: &str = "control.sock";
/// The kernel passes at most 253 descriptors in one message (`SCM_MAX_FD`): the lock,
/// the admin socket and 251 front doors.
const MAX_FDS: usize = 253;
/// Longest JSON line accepted.
const MAX_LINE: usize = 64 * 1024;
/// Bound on each step of the exchange before the new daemon serves.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the old daemon waits for the new one to restore its environments and serve
/// (start-up waits up to 10 s for routed colours).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors of the handover.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    /// Nothing listens on the control socket.
    #[error("cannot reach the running daemon on {path} ({source}); if it is an older bluegreen-local without takeover support, stop it (SIGTERM) and start this one without --takeover: this one adopts the colours still running and starts the others again")]
    Connect {
        /// The control socket.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A read or write failed.
    #[error("handover over {path}: {source}")]
    Io {
        /// The control socket.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The other side said something unexpected.
    #[error("handover over {path}: {message}")]
    Protocol {
        /// The control socket.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Path of the control socket of a state directory.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

#[derive(Debug, Serialize, Deserialize)]
struct Op {
    op: String,
    #[serde(default)]
    pid: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Offer {
    admin: Option<SocketAddr>,
    front_doors: Vec<String>,
}

/// What a new daemon receives from the one it replaces.
#[derive(Debug)]
pub struct Sockets {
    /// The instance lock file, still locked.
    pub lock: OwnedFd,
    /// The admin API's listening socket and its address.
    pub admin: Option<(SocketAddr, std::net::TcpListener)>,
    /// Front door listening sockets by environment name.
    pub front_doors: BTreeMap<String, std::net::TcpListener>,
}

/// The old daemon's side: the control socket it listens on.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Listens on `DIR/control.sock`, replacing a stale one; call it only while holding
    /// the instance lock, so the file replaced is never a live daemon's.
    pub fn bind(state_dir: &Path) -> std::io::Result<Self> {
        let path = socket_path(state_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = UnixListener::bind(&path)?;
        Ok(Self { listener, path })
    }

    /// Waits for the next well-formed handover request from a process of our own user.
    pub async fn next_request(&self) -> Request {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("control socket accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let path = self.path.clone();
            let read = tokio::task::spawn_blocking(move || read_request(stream, path)).await;
            match read {
                Ok(Ok(request)) => return request,
                Ok(Err(e)) => tracing::warn!("refused a handover request: {e}"),
                Err(e) => tracing::warn!("handover request reader failed: {e}"),
            }
        }
    }
}

fn read_request(stream: tokio::net::UnixStream, path: PathBuf) -> Result<Request, HandoverError> {
    let io = |source| HandoverError::Io {
        path: path.clone(),
        source,
    };
    let stream = stream.into_std().map_err(io)?;
    stream.set_nonblocking(false).map_err(io)?;
    let peer = rustix::net::sockopt::socket_peercred(&stream).map_err(|e| io(e.into()))?;
    if peer.uid != rustix::process::getuid() {
        return Err(HandoverError::Protocol {
            path,
            message: format!(
                "the requesting process (pid {}) runs as another user",
                peer.pid.as_raw_nonzero()
            ),
        });
    }
    stream.set_read_timeout(Some(STEP_TIMEOUT)).map_err(io)?;
    let op: Op = read_line(&stream, &path)?;
    if op.op != "handover" {
        return Err(HandoverError::Protocol {
            path,
            message: format!("expected a handover request, got {:?}", op.op),
        });
    }
    Ok(Request {
        stream,
        path,
        pid: op.pid,
    })
}

/// A new daemon asking for the sockets.
#[derive(Debug)]
pub struct Request {
    stream: UnixStream,
    path: PathBuf,
    /// Pid of the new daemon, for logs.
    pub pid: u32,
}

impl Request {
    /// Sends the lock, the admin socket and the front doors' sockets, then waits for the
    /// new daemon to say it serves. An error means it did not: the caller carries on.
    pub async fn hand_over(
        self,
        lock: OwnedFd,
        admin: Option<(SocketAddr, OwnedFd)>,
        front_doors: Vec<(String, OwnedFd)>,
    ) -> Result<(), HandoverError> {
        tokio::task::spawn_blocking(move || self.hand_over_blocking(lock, admin, front_doors))
            .await
            .map_err(|e| HandoverError::Protocol {
                path: PathBuf::from(SOCKET_NAME),
                message: format!("handover task failed: {e}"),
            })?
    }

    fn hand_over_blocking(
        self,
        lock: OwnedFd,
        admin: Option<(SocketAddr, OwnedFd)>,
        front_doors: Vec<(String, OwnedFd)>,
    ) -> Result<(), HandoverError> {
        let Request { stream, path, .. } = self;
        let offer = Offer {
            admin: admin.as_ref().map(|(addr, _)| *addr),
            front_doors: front_doors.iter().map(|(name, _)| name.clone()).collect(),
        };
        let mut fds: Vec<BorrowedFd<'_>> = vec![lock.as_fd()];
        fds.extend(admin.as_ref().map(|(_, fd)| fd.as_fd()));
        fds.extend(front_doors.iter().map(|(_, fd)| fd.as_fd()));
        if fds.len() > MAX_FDS {
            return Err(HandoverError::Protocol {
                path,
                message: format!(
                    "{} front doors are more than one handover can pass ({})",
                    front_doors.len(),
                    MAX_FDS - 2
                ),
            });
        }
        send_with_fds(&stream, &path, &offer, &fds)?;
        stream
            .set_read_timeout(Some(READY_TIMEOUT))
            .map_err(|source| HandoverError::Io {
                path: path.clone(),
                source,
            })?;
        let op: Op = read_line(&stream, &path)?;
        if op.op != "ready" {
            return Err(HandoverError::Protocol {
                path,
                message: format!("expected ready, got {:?}", op.op),
            });
        }
        Ok(())
    }
}

/// The new daemon's side: asks the daemon serving `state_dir` for its sockets.
pub async fn request(state_dir: &Path) -> Result<(Sockets, Ready), HandoverError> {
    let path = socket_path(state_dir);
    tokio::task::spawn_blocking(move || request_blocking(path))
        .await
        .map_err(|e| HandoverError::Protocol {
            path: PathBuf::from(SOCKET_NAME),
            message: format!("handover task failed: {e}"),
        })?
}

fn request_blocking(path: PathBuf) -> Result<(Sockets, Ready), HandoverError> {
    let stream = UnixStream::connect(&path).map_err(|source| HandoverError::Connect {
        path: path.clone(),
        source,
    })?;
    let io = |source| HandoverError::Io {
        path: path.clone(),
        source,
    };
    stream.set_read_timeout(Some(STEP_TIMEOUT)).map_err(io)?;
    write_line(
        &stream,
        &path,
        &Op {
            op: "handover".into(),
            pid: std::process::id(),
        },
    )?;
    let (offer, fds): (Offer, Vec<OwnedFd>) = receive_with_fds(&stream, &path)?;
    let expected = 1 + usize::from(offer.admin.is_some()) + offer.front_doors.len();
    if fds.len() != expected {
        return Err(HandoverError::Protocol {
            path,
            message: format!("expected {expected} descriptors, received {}", fds.len()),
        });
    }
    let mut fds = fds.into_iter();
    let lock = fds.next().ok_or_else(|| HandoverError::Protocol {
        path: path.clone(),
        message: "no instance lock received".into(),
    })?;
    let mut listener = || fds.next().map(std::net::TcpListener::from);
    let admin = match offer.admin {
        Some(addr) => listener().map(|l| (addr, l)),
        None => None,
    };
    let front_doors = offer
        .front_doors
        .into_iter()
        .filter_map(|name| listener().map(|l| (name, l)))
        .collect();
    Ok((
        Sockets {
            lock,
            admin,
            front_doors,
        },
        Ready { stream, path },
    ))
}

/// The new daemon's promise to say when it serves.
#[derive(Debug)]
pub struct Ready {
    stream: UnixStream,
    path: PathBuf,
}

impl Ready {
    /// Tells the old daemon to stop accepting, drain and exit.
    pub fn confirm(self) -> Result<(), HandoverError> {
        write_line(
            &self.stream,
            &self.path,
            &Op {
                op: "ready".into(),
                pid: std::process::id(),
            },
        )
    }
}

fn write_line<T: Serialize>(
    mut stream: &UnixStream,
    path: &Path,
    value: &T,
) -> Result<(), HandoverError> {
    let mut line = serde_json::to_vec(value).map_err(|e| HandoverError::Protocol {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(|source| HandoverError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_line<T: for<'de> Deserialize<'de>>(
    stream: &UnixStream,
    path: &Path,
) -> Result<T, HandoverError> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_LINE as u64))
        .read_until(b'\n', &mut line)
        .map_err(|source| HandoverError::Io {
            path: path.to_owned(),
            source,
        })?;
    parse_line(&line, path)
}

fn parse_line<T: for<'de> Deserialize<'de>>(line: &[u8], path: &Path) -> Result<T, HandoverError> {
    if !line.ends_with(b"\n") {
        return Err(HandoverError::Protocol {
            path: path.to_owned(),
            message: "the other daemon closed the connection mid-exchange".into(),
        });
    }
    serde_json::from_slice(line).map_err(|e| HandoverError::Protocol {
        path: path.to_owned(),
        message: format!("unreadable message: {e}"),
    })
}

fn send_with_fds<T: Serialize>(
    stream: &UnixStream,
    path: &Path,
    value: &T,
    fds: &[BorrowedFd<'_>],
) -> Result<(), HandoverError> {
    let mut line = serde_json::to_vec(value).map_err(|e| HandoverError::Protocol {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(HandoverError::Protocol {
            path: path.to_owned(),
            message: "descriptors do not fit the control message".into(),
        });
    }
    let io = |source| HandoverError::Io {
        path: path.to_owned(),
        source,
    };
    let sent = sendmsg(
        stream,
        &[IoSlice::new(&line)],
        &mut control,
        SendFlags::empty(),
    )
    .map_err(|e| io(e.into()))?;
    // The descriptors went with the first byte; the rest of a long line follows plainly.
    let rest = &line[sent..];
    let mut writer = stream;
    writer.write_all(rest).map_err(io)
}

fn receive_with_fds<T: for<'de> Deserialize<'de>>(
    stream: &UnixStream,
    path: &Path,
) -> Result<(T, Vec<OwnedFd>), HandoverError> {
    let io = |source| HandoverError::Io {
        path: path.to_owned(),
        source,
    };
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = vec![0u8; MAX_LINE];
    let msg = recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| io(e.into()))?;
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if msg.flags.contains(ReturnFlags::CTRUNC) {
        return Err(HandoverError::Protocol {
            path: path.to_owned(),
            message: "descriptors were truncated (raise the open files limit)".into(),
        });
    }
    let mut line = buf[..msg.bytes].to_vec();
    if !line.ends_with(b"\n") && !line.is_empty() {
        let mut more = Vec::new();
        BufReader::new(stream.take((MAX_LINE - line.len()) as u64))
            .read_until(b'\n', &mut more)
            .map_err(io)?;
        line.extend(more);
    }
    Ok((parse_line(&line, path)?, fds))
}
