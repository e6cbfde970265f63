//! Accepting connections on a unix socket or TCP port, with or without TLS,
//! as one stream of connections tonic can serve.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::handshake::ListenAddr;
use super::lifeline::{ConnectionGuard, Connections};

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One accepted (and, with TLS, handshaken) connection, counted while open.
pub struct Conn {
    io: Box<dyn Io>,
    // Held, not read: dropping it counts the connection closed.
    _open: ConnectionGuard,
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A bound listener, before accepting.
pub enum Listener {
    /// Unix socket.
    Unix(UnixListener),
    /// TCP.
    Tcp(TcpListener),
}

/// Removes the socket file (and its private directory) on drop.
pub struct SocketFile {
    path: PathBuf,
    dir: Option<PathBuf>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Listener {
    /// Binds a unix socket in a fresh private directory under `PLUGIN_UNIX_SOCKET_DIR`
    /// (Terraform may set it) or the system temp dir.
    /// The returned [`SocketFile`] removes the socket when dropped.
    pub fn bind_unix() -> io::Result<(Listener, ListenAddr, SocketFile)> {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = unique_dir(&base)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let path = dir.join("plugin.sock");
        let listener = UnixListener::bind(&path)?;
        let addr = ListenAddr::Unix(path.clone());
        Ok((
            Listener::Unix(listener),
            addr,
            SocketFile {
                path,
                dir: Some(dir),
            },
        ))
    }

    /// Binds a loopback TCP port within `PLUGIN_MIN_PORT`..=`PLUGIN_MAX_PORT` when set.
    pub async fn bind_tcp() -> io::Result<(Listener, ListenAddr)> {
        let min: u16 = std::env::var("PLUGIN_MIN_PORT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let max: u16 = std::env::var("PLUGIN_MAX_PORT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let candidates: Vec<u16> = if min > 0 && max >= min {
            (min..=max).collect()
        } else {
            vec![0]
        };
        let mut last_err = io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free port in PLUGIN_MIN_PORT..PLUGIN_MAX_PORT",
        );
        for port in candidates {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => {
                    let addr = l.local_addr()?;
                    return Ok((Listener::Tcp(l), ListenAddr::Tcp(addr)));
                }
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// Starts accepting; connections arrive on the returned stream, after the
    /// TLS handshake when `tls` is given, and are counted in `connections` while
    /// open. Connections that fail the handshake (e.g. a client without
    /// Terraform's certificate) are dropped and logged.
    pub fn incoming(
        self,
        tls: Option<Arc<rustls::ServerConfig>>,
        connections: Connections,
    ) -> ReceiverStream<io::Result<Conn>> {
        let (tx, rx) = mpsc::channel(16);
        let acceptor = tls.map(TlsAcceptor::from);
        tokio::spawn(async move {
            loop {
                let accepted: io::Result<Box<dyn Io>> = match &self {
                    Listener::Unix(l) => l.accept().await.map(|(s, _)| Box::new(s) as Box<dyn Io>),
                    Listener::Tcp(l) => l.accept().await.map(|(s, _)| {
                        let _ = s.set_nodelay(true);
                        Box::new(s) as Box<dyn Io>
                    }),
                };
                let stream = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a plugin connection failed");
                        continue;
                    }
                };
                let tx = tx.clone();
                let acceptor = acceptor.clone();
                let connections = connections.clone();
                tokio::spawn(async move {
                    let conn = match acceptor {
                        None => Conn {
                            io: stream,
                            _open: connections.open(),
                        },
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls) => Conn {
                                io: Box::new(tls),
                                _open: connections.open(),
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "rejected a plugin connection: TLS handshake failed");
                                return;
                            }
                        },
                    };
                    let _ = tx.send(Ok(conn)).await;
                });
            }
        });
        ReceiverStream::new(rx)
    }
}

fn unique_dir(base: &std::path::Path) -> io::Result<PathBuf> {
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("tfplugin-{pid}-{nanos:x}-{attempt}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a private socket directory",
    ))
}
