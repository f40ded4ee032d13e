//! Build slots: how many builds run at once, and fairness between projects. Compiling uses
//! every core already, so builds wait for a slot; a project holds at most
//! [`PER_PROJECT`] of them, so one tenant's queue of uploads cannot keep every other tenant's
//! builds waiting.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{Notify, Semaphore, SemaphorePermit};

/// Builds running at once.
pub const CONCURRENT: usize = 2;
/// Builds of one project running at once.
pub const PER_PROJECT: usize = 1;

/// One server's build slots.
pub struct BuildSlots {
    global: Semaphore,
    /// Builds running or holding a project slot, by project.
    per_project: Mutex<HashMap<String, usize>>,
    /// Wakes builds waiting for their project's slot.
    freed: Notify,
}

impl Default for BuildSlots {
    fn default() -> Self {
        Self {
            global: Semaphore::new(CONCURRENT),
            per_project: Mutex::default(),
            freed: Notify::new(),
        }
    }
}

/// A held build slot; dropping it lets the next build run.
pub struct BuildSlot<'a> {
    _global: SemaphorePermit<'a>,
    _project: ProjectSlot<'a>,
}

struct ProjectSlot<'a> {
    slots: &'a BuildSlots,
    project: String,
}

impl Drop for ProjectSlot<'_> {
    fn drop(&mut self) {
        let mut running = self.slots.running();
        if let Some(count) = running.get_mut(&self.project) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.project);
            }
        }
        drop(running);
        self.slots.freed.notify_waiters();
    }
}

impl BuildSlots {
    fn running(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // The map holds no invariant a panic elsewhere could break.
        self.per_project
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot of `project`, then for a server-wide one. The semaphore is never
    /// closed, so this only waits.
    pub async fn acquire(&self, project: &str) -> Option<BuildSlot<'_>> {
        let project = self.project_slot(project).await;
        let global = self.global.acquire().await.ok()?;
        Some(BuildSlot {
            _global: global,
            _project: project,
        })
    }

    async fn project_slot(&self, project: &str) -> ProjectSlot<'_> {
        loop {
            // Registered before the check, so a slot freed in between is not missed.
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            {
                let mut running = self.running();
                let count = running.entry(project.to_owned()).or_default();
                if *count < PER_PROJECT {
                    *count += 1;
                    return ProjectSlot {
                        slots: self,
                        project: project.to_owned(),
                    };
                }
            }
            freed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_project_cannot_hold_every_slot() {
        let slots = BuildSlots::default();
        let first = slots.acquire("busy").await.expect("a slot");
        let second_of_busy = tokio::time::timeout(Duration::from_millis(50), slots.acquire("busy"));
        assert!(
            second_of_busy.await.is_err(),
            "a project waits for its own slot"
        );
        let other = tokio::time::timeout(Duration::from_millis(50), slots.acquire("other"))
            .await
            .expect("another project builds at once");
        assert!(other.is_some());
        drop(first);
        let next = tokio::time::timeout(Duration::from_secs(1), slots.acquire("busy"))
            .await
            .expect("the project's next build starts once its first ends");
        assert!(next.is_some());
    }
}
