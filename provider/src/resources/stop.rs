//! Terraform's Stop (Ctrl-C) as the engine's cancellation token: the engine
//! knows nothing of the plugin protocol, the resources adapt one to the other.

use tfplugin::provider::Ctx;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A token cancelled when Terraform asks the provider to stop, for as long
/// as this value lives (dropping it ends the task that watches the call).
pub struct StopSignal {
    token: CancellationToken,
    watcher: JoinHandle<()>,
}

impl StopSignal {
    /// Watches `ctx` and cancels the token when Terraform stops the call.
    pub fn watch(ctx: &Ctx) -> Self {
        let token = CancellationToken::new();
        let (ctx, cancel) = (ctx.clone(), token.clone());
        let watcher = tokio::spawn(async move {
            ctx.stopped().await;
            cancel.cancel();
        });
        Self { token, watcher }
    }

    /// The token to hand to the engine.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Drop for StopSignal {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn terraform_stop_cancels_the_token() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let signal = StopSignal::watch(&Ctx::new(rx));
        let token = signal.token();
        assert!(!token.is_cancelled());
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), token.cancelled())
            .await
            .expect("the token follows Terraform's stop");
    }

    #[tokio::test]
    async fn dropping_the_signal_ends_its_watcher() {
        let signal = StopSignal::watch(&Ctx::detached());
        let token = signal.token();
        drop(signal);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!token.is_cancelled(), "a finished call is not a stop");
    }
}
