//! nginx as the reference reverse proxy: a generated configuration in a temporary
//! directory, run in the foreground on a loopback port, stopped when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;

use crate::process::{command, wait_port, ProcessGuard};

/// A running nginx of our own.
pub struct Nginx {
    guard: ProcessGuard,
    /// Port it proxies on.
    pub port: u16,
    /// The configuration it runs with, for the report.
    pub config: String,
    dir: tempfile::TempDir,
}

/// The configuration: a reverse proxy to `127.0.0.1:upstream_port` with a keep-alive
/// upstream pool, headers equivalent to the front door's (`X-Forwarded-*` upstream,
/// `x-bluegreen-color` downstream), no access log (the front door writes none), and
/// keep-alive limits lifted on both sides as the front door has none.
pub fn config(dir: &Path, workers: &str, listen_port: u16, upstream_port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    upstream app {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto http;
            proxy_set_header X-Forwarded-Host $host;
            add_header x-bluegreen-color blue;
        }}
    }}
}}
"#
    )
}

/// The configuration of nginx as a WebSocket proxy (nginx's documented recipe):
/// `Upgrade` and `Connection: upgrade` passed on, an hour's read timeout for idle
/// tunnels, the same headers as [`config`] otherwise.
pub fn websocket_config(dir: &Path, workers: &str, listen_port: u16, upstream_port: u16) -> String {
    config(dir, workers, listen_port, upstream_port).replace(
        "            proxy_set_header Connection \"\";\n",
        "            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection \"upgrade\";\n            proxy_read_timeout 3600s;\n            proxy_send_timeout 3600s;\n",
    )
}

impl Nginx {
    /// Starts `nginx` with `worker_processes workers` (`1` or `auto`) proxying
    /// `127.0.0.1:listen_port` to `127.0.0.1:upstream_port`.
    pub fn start(
        nginx: &Path,
        workers: &str,
        listen_port: u16,
        upstream_port: u16,
    ) -> anyhow::Result<Self> {
        Self::launch(nginx, listen_port, |dir| {
            config(dir, workers, listen_port, upstream_port)
        })
    }

    /// [`Nginx::start`] as a WebSocket proxy ([`websocket_config`]).
    pub fn start_websocket(
        nginx: &Path,
        workers: &str,
        listen_port: u16,
        upstream_port: u16,
    ) -> anyhow::Result<Self> {
        Self::launch(nginx, listen_port, |dir| {
            websocket_config(dir, workers, listen_port, upstream_port)
        })
    }

    fn launch(
        nginx: &Path,
        listen_port: u16,
        make_config: impl FnOnce(&Path) -> String,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("bluegreen-bench-nginx-")
            .tempdir()
            .context("creating nginx's directory")?;
        // Workers may run as another user (nobody, when started as root).
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        }
        let config = make_config(dir.path());
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, &config).context("writing nginx.conf")?;
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        let mut cmd = command(nginx);
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let mut guard = ProcessGuard::spawn("nginx", &mut cmd, Duration::from_secs(5))?;
        let log = dir.path().to_path_buf();
        wait_port(listen_port, Duration::from_secs(10), || {
            guard.ensure_running().with_context(|| {
                let read = |f: &str| std::fs::read_to_string(log.join(f)).unwrap_or_default();
                format!(
                    "nginx stderr:\n{}\nerror.log:\n{}",
                    read("stderr.log"),
                    read("error.log")
                )
            })
        })?;
        Ok(Self {
            guard,
            port: listen_port,
            config,
            dir,
        })
    }

    /// The master process id (workers are its children).
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Fails if nginx has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        self.guard.ensure_running()
    }

    /// Its error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}
