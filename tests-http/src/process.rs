//! `tollgate-server` as a child process, for what only a real process shows: two servers
//! sharing one PostgreSQL database, restarts and `SIGKILL` on SQLite, a database that goes
//! away and comes back.
//!
//! The program under test is this package's binary `tollgate-server-under-test`
//! (`src/bin/`), whose `main` is `tollgate_server::cli::main` — the same one line as the
//! real `tollgate-server` binary. Being a target of this package, cargo builds it before
//! this package's tests and passes its path as `CARGO_BIN_EXE_tollgate-server-under-test`,
//! so it is never missing and never stale, whether the run is `cargo test --workspace` or
//! `cargo test -p tollgate-http-tests` (the path to another package's binary is not known
//! at compile time, and a binary found under `target/` may be out of date).
//!
//! A [`Spawned`] process has its standard output and error drained by threads of their own
//! (a server logs every request to standard error: an unread pipe would fill and stall it).
//! Every wait is bounded and waits on an event — a banner line, a log line, the end of the
//! output — never on a fixed sleep.
//!
//! Also here: [`PgSchema`], a PostgreSQL schema of a test's own (dropped afterwards, so runs
//! never collide), and [`Proxy`], a TCP proxy in front of PostgreSQL the test takes down and
//! brings back without touching the shared database service.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tollgate_sql::sqlx;
use tollgate_sql::sqlx::Connection as _;

use crate::Site;

/// The longest a server may take to start, stop or log an expected line. Generous: the
/// machine may be busy compiling; the waits end as soon as the event happens.
pub const PROCESS_WAIT: Duration = Duration::from_secs(60);

/// A name no other test or run uses: `{prefix}_{pid}_{n}_{nanos}`.
#[must_use]
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary directory, removed on drop.
pub struct TempDir {
    /// Its path.
    pub path: PathBuf,
}

impl TempDir {
    /// A fresh, empty directory.
    #[must_use]
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique(&format!("tollgate-{name}")));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir { path }
    }

    /// Writes `text` to `name` inside it and returns the path.
    #[must_use]
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Standard error of a child, collected line by line as it arrives.
#[derive(Default)]
struct Log {
    state: Mutex<(String, bool)>,
    changed: Condvar,
}

impl Log {
    fn push(&self, line: &str) {
        let mut state = self.state.lock().expect("log");
        state.0.push_str(line);
        state.0.push('\n');
        self.changed.notify_all();
    }

    fn close(&self) {
        self.state.lock().expect("log").1 = true;
        self.changed.notify_all();
    }

    fn text(&self) -> String {
        self.state.lock().expect("log").0.clone()
    }

    /// Waits until the process has closed standard error, for at most `timeout`.
    fn wait_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().expect("log");
        while !state.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self.changed.wait_timeout(state, left).expect("log").0;
        }
    }

    /// Waits until the log contains `needle` (true) or ends or `timeout` passes (false).
    fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().expect("log");
        loop {
            if state.0.contains(needle) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 || left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout(state, left).expect("log").0;
        }
    }
}

/// A started child process, not yet known to be serving.
pub struct Spawned {
    child: Child,
    stdout: Receiver<String>,
    log: Arc<Log>,
    exited: Option<ExitStatus>,
}

impl Spawned {
    /// Runs `bin --config config`, draining its output.
    #[must_use]
    pub fn new(bin: &str, config: &Path) -> Spawned {
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let log = Arc::new(Log::default());
        let err = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(err);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => sink.push(String::from_utf8_lossy(&line).trim_end()),
                }
            }
            sink.close();
        });
        Spawned {
            child,
            stdout,
            log,
            exited: None,
        }
    }

    /// What it has written to standard error so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Waits until standard error contains `needle`; false when the process stopped
    /// writing or `timeout` passed first.
    #[must_use]
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.log.wait_for(needle, timeout)
    }

    /// Waits for the start-up banner and returns the serving process; panics with its log
    /// when it exits instead or says nothing in [`PROCESS_WAIT`].
    #[must_use]
    pub fn ready(mut self) -> ServerProcess {
        let deadline = Instant::now() + PROCESS_WAIT;
        let mut addr = None;
        let mut issuer = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("Tollgate is listening on ") {
                        addr = Some(a.parse::<SocketAddr>().expect("the banner's address"));
                    } else if let Some(i) = line.trim_start().strip_prefix("issuer") {
                        issuer = Some(i.trim().to_string());
                    } else if line.trim_start().starts_with("signing key") {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("the server did not start in time:\n{}", self.log());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("wait");
                    self.exited = Some(status);
                    panic!(
                        "the server exited ({status}) instead of starting:\n{}",
                        self.log()
                    );
                }
            }
        }
        let addr = addr.expect("an address in the banner");
        let issuer = issuer.expect("an issuer in the banner");
        ServerProcess {
            site: Site::new(&format!("http://{addr}"), &issuer),
            addr,
            spawned: self,
        }
    }

    /// Waits for the process to exit (its output ends first) and returns its status and
    /// everything it wrote to standard error; kills it and panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, String) {
        if let Some(status) = self.exited {
            return (status, self.log());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("the server did not exit in time:\n{}", self.log());
                }
            }
        }
        let status = self.child.wait().expect("wait");
        self.exited = Some(status);
        // Standard error ends with the process; its reader has then seen everything.
        self.log.wait_closed(PROCESS_WAIT);
        (status, self.log())
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `tollgate-server` process that is serving.
pub struct ServerProcess {
    /// The address it listens on.
    pub addr: SocketAddr,
    site: Site,
    spawned: Spawned,
}

impl std::ops::Deref for ServerProcess {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

impl ServerProcess {
    /// Starts `bin --config config` and waits until it serves.
    #[must_use]
    pub fn start(bin: &str, config: &Path) -> ServerProcess {
        Spawned::new(bin, config).ready()
    }

    /// What it has written to standard error so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.spawned.log()
    }

    /// `SIGTERM`: a graceful stop. Returns the exit status and the log.
    #[must_use]
    pub fn terminate(mut self) -> (ExitStatus, String) {
        self.spawned.signal("TERM");
        self.spawned.wait_exit(PROCESS_WAIT)
    }

    /// `SIGKILL`: no chance to finish anything. Returns once it is gone.
    pub fn kill(mut self) {
        self.spawned.child.kill().expect("SIGKILL");
        let _ = self.spawned.wait_exit(PROCESS_WAIT);
    }
}

/// The PostgreSQL every run uses (trust authentication, database `test`), as the
/// durable-store tests do; `TOLLGATE_TEST_PG_URL` points elsewhere.
#[must_use]
pub fn pg_url() -> String {
    std::env::var("TOLLGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A PostgreSQL schema of a test's own, dropped with everything in it when this goes.
pub struct PgSchema {
    /// Its name.
    pub name: String,
}

impl PgSchema {
    /// Creates it; fails the test with a clear message when PostgreSQL is not reachable.
    #[must_use]
    pub fn create() -> PgSchema {
        let name = unique("tgproc");
        let url = pg_url();
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {url}: {e}. These tests need it (trust \
                     auth, database `test`): `.ci/run` starts it; by hand, `pg_ctlcluster \
                     --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point \
                     TOLLGATE_TEST_PG_URL elsewhere"
                )
            });
            sqlx::query(&format!("CREATE SCHEMA {name}"))
                .execute(&mut conn)
                .await
                .expect("create schema");
            let _ = conn.close().await;
        });
        PgSchema { name }
    }

    /// The `store` URL of a server whose tables live in this schema, reaching PostgreSQL
    /// at `port` on 127.0.0.1 (a [`Proxy`]) or, with `None`, where [`pg_url`] says.
    #[must_use]
    pub fn store_url(&self, port: Option<u16>) -> String {
        let mut url = pg_url();
        if let Some(port) = port {
            let options: sqlx::postgres::PgConnectOptions = url.parse().expect("URL");
            url = format!(
                "postgres://{}@127.0.0.1:{port}/{}",
                options.get_username(),
                options.get_database().unwrap_or("postgres")
            );
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20search_path%3D{}", self.name)
    }

    /// How many rows `table` of this schema holds.
    #[must_use]
    pub fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {}.{table}", self.name);
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&pg_url())
                .await
                .expect("PostgreSQL");
            let n: i64 = sqlx::query_scalar(&sql)
                .fetch_one(&mut conn)
                .await
                .expect("count");
            let _ = conn.close().await;
            n
        })
    }

    /// The port PostgreSQL listens on, on 127.0.0.1.
    #[must_use]
    pub fn pg_addr() -> SocketAddr {
        let options: sqlx::postgres::PgConnectOptions = pg_url().parse().expect("URL");
        SocketAddr::from(([127, 0, 0, 1], options.get_port()))
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_url()).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A TCP proxy in front of PostgreSQL that the test takes down — every connection cut,
/// new ones refused — and brings back on the same port.
pub struct Proxy {
    /// Where it listens.
    pub listen: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    rt: tokio::runtime::Runtime,
}

impl Proxy {
    /// A proxy to `target` on an ephemeral port.
    #[must_use]
    pub fn start(target: SocketAddr) -> Proxy {
        Proxy::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), target)
    }

    /// A proxy to `target` on `listen`.
    #[must_use]
    pub fn start_on(listen: SocketAddr, target: SocketAddr) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt.block_on(async { bind(listen) });
        let proxy = Proxy {
            listen: listener.local_addr().expect("address"),
            target,
            tasks: Arc::default(),
            rt,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (tasks, target) = (Arc::clone(&self.tasks), self.target);
        let accept = self.rt.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("tasks").push(pipe);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    /// The database "stops": every connection is cut and new ones are refused.
    pub fn stop(&self) {
        let tasks: Vec<_> = self.tasks.lock().expect("tasks").drain(..).collect();
        self.rt.block_on(async {
            for t in &tasks {
                t.abort();
            }
            for t in tasks {
                let _ = t.await;
            }
        });
    }

    /// The database is back, on the same port.
    pub fn resume(&self) {
        let listener = self.rt.block_on(async { bind(self.listen) });
        self.serve(listener);
    }
}

fn bind(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(addr).expect("bind the proxy");
    socket.listen(128).expect("listen")
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}
