//! SIGINT and SIGTERM: every child the xtask starts is owned by a guard whose `Drop` ends it,
//! so on a signal the xtask only has to unwind instead of dying on the spot.

/// Block until SIGINT (Ctrl-C) or SIGTERM arrives.
pub fn wait_for_termination() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
