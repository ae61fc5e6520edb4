//! Disaggregated prefill and decode (Splitwise, DistServe, Mooncake,
//! Dynamo, llm-d): a two-stage pipeline with a [`KvTransferSpec`]. The
//! prefill stage computes the prompt and the first token; the prompt's KV
//! cache then crosses the link to the decode stage, which holds it as
//! computed (KV blocks, no prefill compute) and generates the rest. The
//! request's TTFT is the prefill stage's first token; its TPOT and
//! inter-token latencies run from that token to the decode stage's last.

use super::pipelines::Flight;
use super::PipelineSpec;
use crate::metrics::RequestRecord;
use crate::request::Request;
use crate::time::{SimDuration, SimTime};

/// The KV-cache handoff from the prefill stage to the decode stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvTransferSpec {
    /// KV-cache bytes per prompt token: layers × KV heads × head
    /// dimension × 2 (K and V) × bytes per element, the model's at the KV
    /// cache's precision (what the replica sizes its cache with).
    pub bytes_per_token: u64,
    /// Link bandwidth between a prefill and a decode replica, bytes per
    /// second (at least 1).
    pub link_bytes_per_s: u64,
}

impl KvTransferSpec {
    /// KV bytes of a prompt of `prompt_tokens` tokens.
    pub fn bytes(&self, prompt_tokens: u32) -> u64 {
        u64::from(prompt_tokens).saturating_mul(self.bytes_per_token)
    }

    /// Time to move `bytes` over the link, rounded up to the nanosecond
    /// (integer arithmetic, so the same on every machine).
    pub fn duration(&self, bytes: u64) -> SimDuration {
        let ns =
            (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(self.link_bytes_per_s.max(1)));
        SimDuration(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl PipelineSpec {
    /// What stage `stage` is sent of the request `original`: itself, but
    /// in a disaggregated pipeline the prefill stage gets one output token
    /// to produce, and the decode stage gets the prompt plus that token
    /// (the prompt's KV arrived, the token's is computed there) and the
    /// rest of the output.
    pub(super) fn stage_request(&self, stage: u16, original: &Request) -> Request {
        let mut r = original.clone();
        if self.kv_transfer.is_some() {
            if stage == 0 {
                r.output_tokens = 1;
            } else {
                r.input_tokens = original.input_tokens.saturating_add(1);
                r.output_tokens = original.output_tokens.saturating_sub(1).max(1);
            }
        }
        r
    }

    /// Whether a request that completed stage `stage` has another stage
    /// to visit (a disaggregated request of one output token is done once
    /// prefilled).
    pub(super) fn has_next(&self, stage: u16, original: &Request) -> bool {
        usize::from(stage) + 1 < self.stages.len()
            && (self.kv_transfer.is_none() || original.output_tokens > 1)
    }

    /// Prompt tokens whose KV a request arrives with at stage `stage`.
    pub(super) fn kv_arrived(&self, stage: u16, original: &Request) -> u32 {
        match (self.kv_transfer, stage) {
            (Some(_), 1) => original.input_tokens,
            _ => 0,
        }
    }

    /// The KV transfer's bytes and duration before stage `next`
    /// (nothing outside a disaggregated pipeline).
    pub(super) fn transfer(&self, original: &Request) -> Option<(u64, SimDuration)> {
        let kv = self.kv_transfer?;
        let bytes = kv.bytes(original.input_tokens);
        Some((bytes, kv.duration(bytes)))
    }
}

/// The end-to-end record of a disaggregated request from `end` (the
/// generic pipeline record: latencies of the last stage offset to the
/// first arrival) and `last` (the last stage's own record): the request's
/// own token counts and, once it reached the decode stage, its queue wait
/// and TTFT at the prefill stage, and TPOT and the longest inter-token
/// wait counted from the first token.
pub(super) fn end_record(
    mut end: RequestRecord,
    last: &RequestRecord,
    flight: &Flight,
) -> RequestRecord {
    end.input_tokens = flight.request.input_tokens;
    end.output_tokens = flight.request.output_tokens;
    let Some(first) = flight.first_token else {
        return end; // it ended at the prefill stage
    };
    end.kv_transfer_bytes = flight.kv_bytes;
    // Its queue is the prefill stage's: the decode stage's wait comes
    // after the first token, between tokens.
    end.queue_ns = Some(flight.queue_ns);
    let ttft = first.saturating_since(flight.origin).0;
    end.ttft_ns = Some(ttft);
    end.tpot_ns = match (end.e2e_ns, end.output_tokens) {
        (Some(e2e), n) if n > 1 => Some(e2e.saturating_sub(ttft) / u64::from(n - 1)),
        _ => None,
    };
    // The decode stage's first token is the request's second: the wait
    // between the two spans the KV transfer.
    let second = (last.ttft_ns).map(|t| last.arrival.saturating_add(SimDuration(t)));
    end.itl_max_ns = match (second, last.itl_max_ns) {
        (Some(s), itl) if end.tpot_ns.is_some() => {
            Some(s.saturating_since(first).0.max(itl.unwrap_or(0)))
        }
        _ => None,
    };
    end
}

/// When the prefill stage's record `rec` produced its first token.
pub(super) fn first_token_at(rec: &RequestRecord) -> Option<SimTime> {
    rec.ttft_ns
        .map(|t| rec.arrival.saturating_add(SimDuration(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_time_is_bytes_over_bandwidth_rounded_up() {
        // Llama-3.1-8B at bf16: 32 layers × 8 KV heads × 128 × 2 × 2 B.
        let kv = KvTransferSpec {
            bytes_per_token: 131_072,
            link_bytes_per_s: 50_000_000_000,
        };
        assert_eq!(kv.bytes(1000), 131_072_000);
        // 131,072,000 B / 50 GB/s = 2.62144 ms.
        assert_eq!(kv.duration(kv.bytes(1000)), SimDuration(2_621_440));
        // 1 B over 3 B/s: a third of a second, rounded up.
        let slow = KvTransferSpec {
            bytes_per_token: 1,
            link_bytes_per_s: 3,
        };
        assert_eq!(slow.duration(1), SimDuration(333_333_334));
        assert_eq!(slow.duration(0), SimDuration(0));
    }
}
