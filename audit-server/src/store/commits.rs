//! The in-process commit signal: the append path fires it after a commit, so live tails in
//! this process wake at once instead of waiting for their next poll.

use tokio::sync::broadcast;
use uuid::Uuid;

/// How many commit signals a slow listener may fall behind before it only learns "something
/// was committed" (a lagged receiver re-reads the database, so nothing is lost).
const CAPACITY: usize = 1024;

/// Announces which organization's trail just grew.
#[derive(Debug, Clone)]
pub struct CommitNotifier {
    sender: broadcast::Sender<Uuid>,
}

impl Default for CommitNotifier {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        CommitNotifier { sender }
    }
}

impl CommitNotifier {
    /// Signals that `org_id`'s trail has new committed records. Never blocks.
    pub fn committed(&self, org_id: Uuid) {
        // No listener is not an error: nobody is tailing.
        let _ = self.sender.send(org_id);
    }

    /// A listener for the signals sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}
