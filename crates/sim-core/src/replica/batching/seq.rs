//! What a batching replica keeps of each sequence it holds.

use super::group::NOT_JOINED;
use super::Seq;
use crate::time::SimTime;

/// A sequence on this replica. The fields every iteration reads or writes
/// are kept inline, and what only admission, preemption and completion
/// need is boxed: `running` is walked every iteration and shifted on every
/// completion, so a smaller element is both a shorter walk and a shorter
/// shift, while the walk never follows the box.
#[derive(Clone, Debug)]
pub(super) struct RunSeq {
    /// Prompt tokens (the request's, kept inline for the walk).
    pub(super) input_tokens: u32,
    /// Output tokens to generate (likewise).
    pub(super) output_tokens: u32,
    /// Tokens whose KV entries are computed.
    pub(super) computed: u32,
    /// Output tokens produced so far.
    pub(super) generated: u32,
    /// KV blocks held.
    pub(super) blocks: u32,
    /// Tokens scheduled in the iteration in progress.
    pub(super) scheduled: u32,
    pub(super) first_scheduled: FirstAt,
    pub(super) first_token: FirstAt,
    /// When its latest output token was produced (meaningful once
    /// `generated > 0`).
    pub(super) last_token: SimTime,
    /// Longest wait between two consecutive output tokens so far, ns.
    pub(super) itl_max_ns: u64,
    /// The decode group's step when it joined, `NOT_JOINED` outside it
    /// (`group.rs`): while in it, the counts above are those at the join.
    pub(super) joined: u64,
    pub(super) cold: Box<Cold>,
}

/// What a sequence's hot path never reads.
#[derive(Clone, Debug)]
pub(super) struct Cold {
    pub(super) seq: Seq,
    /// When it reached this replica (async scheduling admits it only to
    /// an iteration planned at or after this time).
    pub(super) queued_at: SimTime,
    pub(super) preemptions: u32,
    /// Order of admission to the running list (set when admitted, again
    /// after a preemption): the list is sorted by it.
    pub(super) key: u64,
}

impl RunSeq {
    pub(super) fn new(seq: Seq, queued_at: SimTime) -> Self {
        RunSeq {
            input_tokens: seq.input_tokens,
            output_tokens: seq.output_tokens,
            computed: 0,
            generated: 0,
            blocks: 0,
            scheduled: 0,
            first_scheduled: FirstAt::NOT_YET,
            first_token: FirstAt::NOT_YET,
            last_token: SimTime(0),
            itl_max_ns: 0,
            joined: NOT_JOINED,
            cold: Box::new(Cold {
                seq,
                queued_at,
                preemptions: 0,
                key: 0,
            }),
        }
    }

    /// Notes the output tokens of an iteration or a decode run: the first
    /// at `first_at`, the last at `last_at`, and between them waits of at
    /// most `later_wait_ns` (a run's last step, its longest: steps never
    /// shrink as the context grows). Called before they count in
    /// `generated`.
    pub(super) fn note_tokens(&mut self, first_at: SimTime, last_at: SimTime, later_wait_ns: u64) {
        if self.generated > 0 {
            self.itl_max_ns = self.itl_max_ns.max(first_at.0 - self.last_token.0);
        }
        self.itl_max_ns = self.itl_max_ns.max(later_wait_ns);
        self.last_token = last_at;
    }

    /// Prompt plus generated tokens: what the KV cache must eventually hold.
    pub(super) fn total(&self) -> u32 {
        self.input_tokens + self.generated
    }
}

/// When something first happened to a sequence, in 8 bytes where
/// `Option<SimTime>` takes 16 (the running list is shifted on every
/// completion). No simulated time reaches `u64::MAX` ns, the mark for
/// "not yet".
#[derive(Clone, Copy, Debug)]
pub(super) struct FirstAt(u64);

impl FirstAt {
    pub(super) const NOT_YET: FirstAt = FirstAt(u64::MAX);

    pub(super) fn get(self) -> Option<SimTime> {
        (self.0 != u64::MAX).then_some(SimTime(self.0))
    }

    pub(super) fn is_some(self) -> bool {
        self.0 != u64::MAX
    }

    /// Notes `t` unless a time is noted already.
    pub(super) fn note(&mut self, t: SimTime) {
        if self.0 == u64::MAX {
            self.0 = t.0;
        }
    }
}
