//! [`GroupKill`]: kills a child's whole process group when an attempt ends early.
//!
//! Each command runs as the leader of its own process group, so a shell and everything it
//! started die together, and a Ctrl-C on the worker's terminal does not reach them (the worker
//! lets them finish on the first signal). The guard kills the group when it is dropped while
//! armed: on a timeout, and when the worker drops the attempt's future (a job's own timeout, a
//! second SIGTERM, the close deadline).

use rustix::process::{Pid, Signal, kill_process_group};

/// Kills process group `pgid` with SIGKILL on drop, unless disarmed.
#[derive(Debug)]
pub struct GroupKill {
    pgid: Option<Pid>,
}

impl GroupKill {
    /// A guard for the group led by the child `pid` (`None`: the child is already gone).
    pub fn new(pid: Option<u32>) -> Self {
        let pgid = pid
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(Pid::from_raw)
            .filter(|pid| !pid.is_init());
        Self { pgid }
    }

    /// Kills the group now (a group already gone is fine).
    pub fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // ESRCH: every process of the group has exited already
            if let Err(e) = kill_process_group(pgid, Signal::KILL)
                && e != rustix::io::Errno::SRCH
            {
                tracing::warn!(pgid = pgid.as_raw_pid(), error = %e, "cannot kill a command's process group");
            }
        }
    }

    /// The command ended by itself: leave its group alone.
    pub fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}
